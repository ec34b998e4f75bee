//! The agent's HTTP API (actix-web), as documented in [`crate::protocol`].
//!
//! `/v1/*` needs `Authorization: Bearer <token>` (compared in constant time); `/healthz`
//! and `/metrics` are open so probes and Prometheus need no secret. The daemon serves
//! from one worker thread: the agent does one fault at a time anyway, and every extra
//! worker costs memory on every node.

mod auth;
mod routes;

pub use auth::Auth;
pub use routes::configure;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};

use crate::agent::Agent;

/// How long a graceful stop waits for requests in flight.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the API on `listener`. The returned server stops on SIGTERM/SIGINT (or its
/// handle's `stop`); awaiting it returns then, and the caller recovers what is applied.
pub fn serve(
    agent: Agent,
    auth: Auth,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(agent.clone()))
            .app_data(web::Data::new(auth.clone()))
            .configure(configure)
    })
    .workers(1)
    .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}
