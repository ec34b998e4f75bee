//! GitLab as a trigger: its webhook payloads read into events, the rules that turn an
//! event into runs, and the GitLab config file that holds those rules (and the API
//! settings the `gitlab` adapter reports back with).
//!
//! In the application, not the `gitlab` adapter: which experiments an event starts is a
//! business rule, and the HTTP API, which receives the webhook, may not import another
//! adapter.

pub mod config;
pub mod hooks;
pub mod rules;

pub use config::GitlabConfig;
pub use hooks::{EventKind, HookEvent};
