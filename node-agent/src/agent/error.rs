//! Why an agent call failed.

use crate::error::FaultError;
use crate::faults::FaultId;
use crate::journal::JournalError;

/// Why an agent call failed. The daemon maps each variant to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A request field is invalid (HTTP 400).
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field's path, e.g. `targets` or `leaseSeconds`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The id is active (or was just used by an instant fault) with a different
    /// request (HTTP 409).
    #[error(
        "fault id {0} is already in use by a different request; recover it first or pick another id"
    )]
    Conflict(FaultId),
    /// No active fault has this id (HTTP 404).
    #[error("no active fault with id {0}")]
    NotFound(FaultId),
    /// A target could not be resolved; nothing was applied (HTTP 404 when it does not
    /// exist, 422 otherwise).
    #[error("targets[{index}]")]
    Target {
        /// The target's index in the request.
        index: usize,
        /// Why.
        #[source]
        source: FaultError,
    },
    /// The fault failed to apply on one target; what had been applied was recovered
    /// (HTTP 422).
    #[error("failed to apply {kind} to {target}")]
    Apply {
        /// Fault kind name.
        kind: &'static str,
        /// The target as written.
        target: String,
        /// The executor's error.
        #[source]
        source: FaultError,
    },
    /// A fault could not be recovered; it stays journaled and the agent retries (HTTP 422).
    #[error("failed to recover {id}")]
    Recover {
        /// The record id.
        id: FaultId,
        /// The executor's error.
        #[source]
        source: FaultError,
    },
    /// The journal could not be opened or written (HTTP 500; 503 when locked).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The agent's thread could not be started.
    #[error("failed to {step}")]
    Start {
        /// The step, e.g. "spawn the agent thread".
        step: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The hook that must run before the first lasting fault (`faultline run`'s watchdog)
    /// failed; nothing was journaled or applied (HTTP 500).
    #[error(
        "refusing to apply: cannot arm the watchdog that recovers faults if this process is killed: {reason}"
    )]
    Unguarded {
        /// Why the hook failed.
        reason: String,
    },
    /// The agent is shutting down or has stopped (HTTP 503).
    #[error("the agent is shutting down")]
    Stopped,
}
