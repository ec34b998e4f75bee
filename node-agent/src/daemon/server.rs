//! Starting the HTTP server: one worker, the agent, the token and the optional tracer as
//! app data, every route from [`configure`]; HTTPS when given TLS settings.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use faultline_exporter::AgentTracer;

use super::auth::Auth;
use super::routes::configure;
use crate::agent::Agent;
use crate::tls::listen_https;

/// How long a graceful stop waits for requests in flight.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the API on `listener`. The returned server stops on SIGTERM/SIGINT (or its
/// handle's `stop`); awaiting it returns then, and the caller recovers what is applied.
pub fn serve(
    agent: Agent,
    auth: Auth,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    serve_traced(agent, auth, listener, None)
}

/// As [`serve`], exporting a span per fault call through `tracer` when given.
pub fn serve_traced(
    agent: Agent,
    auth: Auth,
    listener: TcpListener,
    tracer: Option<AgentTracer>,
) -> std::io::Result<actix_web::dev::Server> {
    serve_tls(agent, auth, listener, tracer, None)
}

/// As [`serve_traced`], over HTTPS when `tls` is given (see
/// [`ServerTls`](crate::tls::ServerTls): the certificate follows its files, and a client
/// CA makes client certificates mandatory).
pub fn serve_tls(
    agent: Agent,
    auth: Auth,
    listener: TcpListener,
    tracer: Option<AgentTracer>,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<actix_web::dev::Server> {
    let make_app = move || {
        let app = App::new()
            .app_data(web::Data::new(agent.clone()))
            .app_data(web::Data::new(auth.clone()));
        match &tracer {
            Some(t) => app.app_data(web::Data::new(t.clone())),
            None => app,
        }
        .configure(configure)
    };
    let server = match tls {
        // Plain HTTP to the TLS port gets a 400 in words (crate::tls::plain_http).
        Some(config) => listen_https(
            actix_server::Server::build()
                .workers(1)
                .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs()),
            listener,
            config,
            make_app,
        )?,
        None => HttpServer::new(make_app)
            .workers(1)
            .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
            .listen(listener)?
            .run(),
    };
    Ok(server)
}
