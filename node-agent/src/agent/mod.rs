//! The agent core, usable in-process (`faultline run`) or behind the daemon's HTTP API.
//!
//! [`Agent`] is a cheap, cloneable handle. The work happens on one dedicated thread that
//! owns the journal and runs the executors one at a time: that serialises applies and
//! recoveries (no two touch the same id at once), keeps the journal's fsync off the
//! caller's async threads, and lets the executors' futures be `!Send`. The same thread
//! recovers faults whose lease lapsed.
//!
//! On [`Agent::open`] everything the journal says is still applied is recovered first
//! (crash recovery). [`Agent::shutdown`] recovers everything and releases the state dir.
//! Dropping every handle without `shutdown` stops the thread but leaves applied faults in
//! the journal, for the next start (or `faultline recover`) to remove.

mod apply;
mod command;
mod core;
mod error;
mod events;
mod handle;
mod lease;
mod observe;
mod recover;
mod request;
mod thread;

pub use crate::error::error_chain;
pub use command::StartupReport;
pub use core::BeforeLasting;
pub use error::AgentError;
pub use handle::{Agent, recover_state_dir};
