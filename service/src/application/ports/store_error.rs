//! Why a store port could not do what was asked (every store port returns it).

use crate::domain::RunState;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (open, migrate, read or write).
    #[error("store {op} failed")]
    Database {
        /// What was being done.
        op: &'static str,
        /// The database's error (SQLite's, from the `store` adapter).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No run with that id.
    #[error("no run with id {0}")]
    NoSuchRun(String),
    /// The engine asked for a transition the state machine forbids.
    #[error("run {run}: illegal transition {from} -> {to}")]
    IllegalTransition {
        /// Run id.
        run: String,
        /// Stored state.
        from: RunState,
        /// Requested state.
        to: RunState,
    },
    /// A write shared with other requests failed (group commit: the whole batch rolled
    /// back), or the thread that writes them is gone.
    #[error("store {op} failed: {detail}")]
    Writer {
        /// What was being done.
        op: &'static str,
        /// The error, as text (one error answers every request of the batch).
        detail: String,
    },
    /// Another replica adopted the run after this one's lease on it lapsed: this replica
    /// may no longer write to it (its writes are fenced by the lease's generation).
    #[error("run {run}: this replica lost its lease on the run (another replica adopted it)")]
    LeaseLost {
        /// Run id.
        run: String,
    },
    /// A stored row could not be decoded (written by a newer or broken version).
    #[error("run {run}: stored {what} is unreadable: {detail}")]
    Corrupt {
        /// Run id.
        run: String,
        /// Which column.
        what: &'static str,
        /// Why.
        detail: String,
    },
}
