//! The service's HTTP API (actix-web; DESIGN §6): `/api/v1/runs` and its events, reports
//! and abort; `/healthz`, `/readyz`, `/metrics`. One file per resource; [`Service`] holds
//! the process around it.

pub mod alertmanager;
pub mod auth;
pub mod deadline;
pub mod error;
pub mod experiments;
pub mod halt;
pub mod health;
pub mod intake;
pub mod runs;
pub mod schedules;
pub mod server;
pub mod sse;
pub mod state;
pub mod webhooks;

pub use auth::{Auth, Role};
pub use error::ApiError;
pub use server::{ServeError, Service, check_bind};
pub use state::ApiState;

/// Mounts every route: the health routes at the root, the rest under `/api/v1`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    health::configure(cfg);
    webhooks::configure(cfg);
    alertmanager::configure(cfg);
    cfg.service(
        actix_web::web::scope("/api/v1")
            .configure(runs::configure)
            .configure(experiments::configure)
            .configure(halt::configure)
            .configure(schedules::configure),
    );
}
