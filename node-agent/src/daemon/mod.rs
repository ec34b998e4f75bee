//! The agent's HTTP API (actix-web), as documented in [`crate::protocol`].
//!
//! `/v1/*` needs `Authorization: Bearer <token>` (compared in constant time); `/healthz`
//! and `/metrics` are open so probes and Prometheus need no secret. The daemon serves
//! from one worker thread: the agent does one fault at a time anyway, and every extra
//! worker costs memory on every node.
//!
//! With an [`AgentTracer`](faultline_exporter::AgentTracer) (`faultline-agent
//! --otlp-endpoint`), apply, recover and renew each export a span, a child of the caller's
//! W3C `traceparent` when it sent one.
//!
//! `routes` and `auth` both answer with `error::ApiError`, which sits below them.

mod auth;
mod error;
mod routes;
mod server;

pub use auth::Auth;
pub use routes::configure;
pub use server::{serve, serve_tls, serve_traced};
