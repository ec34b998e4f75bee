//! GitLab: webhook payloads and the rules that turn them into runs, the context a run
//! keeps of the event, and reporting back (commit statuses, merge-request notes) through
//! GitLab's REST API v4.

pub mod client;
pub mod preview;
pub mod report;

pub use client::GitlabClient;
pub use report::GitlabObserver;
