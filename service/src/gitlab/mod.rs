//! GitLab's REST API v4: reporting back on GitLab-triggered runs (commit statuses and a
//! verdict note, queued through the application's outbox and delivered back through this
//! adapter's `DeliveryChannel`) and dry-run previews on merge requests. The webhook's
//! events, rules and config are the application's (`application::gitlab_trigger`); the
//! context a run keeps of its event is the domain's.

pub mod client;
pub mod preview;
pub mod report;

pub use client::GitlabClient;
pub use report::GitlabObserver;
