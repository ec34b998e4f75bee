//! The service's HTTP API (actix-web; DESIGN §6): `/api/v1/runs` and its events, reports
//! and abort; `/healthz`, `/readyz`, `/metrics`. One file per resource; [`Service`] holds
//! the process around it. HTTP only: runs are started, aborted and followed through the
//! application, the store and GitLab reached through its ports.

pub mod alertmanager;
pub mod audit;
pub mod auth;
pub mod auth_policies;
pub mod body;
pub mod console;
pub mod deadline;
pub mod error;
pub mod experiments;
pub mod gitlab_hooks;
pub mod halt;
pub mod health;
pub mod id_token;
pub mod intake;
pub mod routes;
mod run_query;
pub mod runs;
pub mod schedules;
pub mod server;
pub mod sse;
pub mod sso;
pub mod start_rights;
pub mod state;
mod verdict_trends;
pub mod webhooks;
pub mod whoami;

pub use auth::{Auth, Role};
pub use error::ApiError;
pub use gitlab_hooks::GitlabHooks;
pub use server::{ServeError, Service, check_bind};
pub use state::ApiState;
