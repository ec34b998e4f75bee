//! The application: what the service does with runs — start, abort and follow them
//! ([`live`], [`runs`]), the experiment catalog and its schedules, dry-run plans, and the
//! engine that drives a run through its states. It speaks the domain's language and
//! reaches the outside world only through the [`ports`] it defines, which the adapters
//! (store, Kubernetes, GitLab, notifications, outputs, HTTP API) implement.

pub mod abort_watch;
pub mod adoption;
pub mod audit;
pub mod catalog;
pub mod ci_identity;
pub mod config_file;
pub mod dry_run;
pub mod engine;
pub mod gitlab_trigger;
pub mod governance;
pub mod halt_watch;
pub mod identity;
pub mod live;
pub mod ports;
pub mod probes;
pub mod report;
pub mod runs;
pub mod schedule;
pub mod schedule_book;
pub mod settle;
pub mod sso;
