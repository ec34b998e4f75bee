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

mod core;
mod events;
mod request;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use faultline_exporter::{AgentMetrics, RecoveryReason};
use tokio::sync::{mpsc, oneshot};

use crate::error::FaultError;
use crate::faults::{FaultId, FaultRecord};
use crate::journal::JournalError;
use crate::protocol::{ApplyRequest, RecoveredFault};

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
    /// The agent is shutting down or has stopped (HTTP 503).
    #[error("the agent is shutting down")]
    Stopped,
}

/// `err` and its sources, joined with `: `, for logs and HTTP error bodies.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}

/// What the start-up recovery did.
#[derive(Debug, Clone, Default)]
pub struct StartupReport {
    /// Records the journal held that were recovered.
    pub recovered: Vec<RecoveredFault>,
    /// Records that could not be recovered yet, with why; the agent keeps retrying them.
    pub failed: Vec<(FaultId, String)>,
}

type Reply<T> = oneshot::Sender<Result<T, AgentError>>;

/// A call to the agent thread.
enum Command {
    Apply(Box<ApplyRequest>, Reply<Vec<FaultRecord>>),
    Recover(FaultId, Reply<Vec<RecoveredFault>>),
    Renew(FaultId, u64, Reply<(Vec<FaultId>, DateTime<Utc>)>),
    List(Reply<Vec<FaultRecord>>),
    RecoverAll(RecoveryReason, Reply<Vec<RecoveredFault>>),
    Shutdown(Reply<Vec<RecoveredFault>>),
}

/// A handle on a running agent; clone it freely.
#[derive(Debug, Clone)]
pub struct Agent {
    tx: mpsc::Sender<Command>,
    metrics: Arc<AgentMetrics>,
    dir: PathBuf,
    startup: Arc<StartupReport>,
}

impl Agent {
    /// Opens the state dir (taking its lock), recovers whatever the journal says is still
    /// applied, and starts the lease reaper. Metrics go to a registry of its own.
    pub async fn open(state_dir: impl AsRef<Path>) -> Result<Agent, AgentError> {
        let metrics =
            AgentMetrics::new(env!("CARGO_PKG_VERSION")).map_err(|e| AgentError::Start {
                step: "register agent metrics",
                source: Box::new(e),
            })?;
        Agent::open_with(state_dir, Arc::new(metrics)).await
    }

    /// As [`Agent::open`], with metrics the caller owns (to serve them with others).
    pub async fn open_with(
        state_dir: impl AsRef<Path>,
        metrics: Arc<AgentMetrics>,
    ) -> Result<Agent, AgentError> {
        let dir = state_dir.as_ref().to_path_buf();
        metrics.init_kinds(faultline_spec::NodeFault::ALL_NAMES);
        let (tx, rx) = mpsc::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (m, d) = (metrics.clone(), dir.clone());
        std::thread::Builder::new()
            .name("faultline-agent-core".into())
            .spawn(move || core::run(d, m, rx, ready_tx))
            .map_err(|e| AgentError::Start {
                step: "spawn the agent thread",
                source: Box::new(e),
            })?;
        let startup = ready_rx.await.map_err(|_| AgentError::Stopped)??;
        Ok(Agent {
            tx,
            metrics,
            dir,
            startup: Arc::new(startup),
        })
    }

    /// The state dir.
    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// The agent's metrics.
    pub fn metrics(&self) -> &Arc<AgentMetrics> {
        &self.metrics
    }

    /// What the start-up recovery did.
    pub fn startup_report(&self) -> &StartupReport {
        &self.startup
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, AgentError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| AgentError::Stopped)?;
        rx.await.map_err(|_| AgentError::Stopped)?
    }

    /// Applies `req.kind` to every target, all or nothing: if one target fails, what was
    /// applied is recovered before the error returns. Reusing an active id with the same
    /// kind and targets returns the existing records; with a different one, `Conflict`.
    pub async fn apply(&self, req: ApplyRequest) -> Result<Vec<FaultRecord>, AgentError> {
        self.call(|r| Command::Apply(Box::new(req), r)).await
    }

    /// Recovers the request `id` (all its records) or the one record `id`. An id that is
    /// not active recovers nothing and is not an error.
    pub async fn recover(&self, id: FaultId) -> Result<Vec<RecoveredFault>, AgentError> {
        self.call(|r| Command::Recover(id, r)).await
    }

    /// Sets the lease of request or record `id` to `lease_seconds` from now.
    pub async fn renew(
        &self,
        id: FaultId,
        lease_seconds: u64,
    ) -> Result<(Vec<FaultId>, DateTime<Utc>), AgentError> {
        self.call(|r| Command::Renew(id, lease_seconds, r)).await
    }

    /// Every active record.
    pub async fn list(&self) -> Result<Vec<FaultRecord>, AgentError> {
        self.call(Command::List).await
    }

    /// Recovers every active fault, counting it under `reason`; the agent keeps running.
    pub async fn recover_all(
        &self,
        reason: RecoveryReason,
    ) -> Result<Vec<RecoveredFault>, AgentError> {
        self.call(|r| Command::RecoverAll(reason, r)).await
    }

    /// Recovers every active fault, stops the agent thread and releases the state dir.
    /// Faults that failed to recover stay in the journal for the next start.
    pub async fn shutdown(&self) -> Result<Vec<RecoveredFault>, AgentError> {
        self.call(Command::Shutdown).await
    }
}

/// `faultline recover`: removes whatever a killed agent or run left in `state_dir`, then
/// releases it. Fails with a clear error while another agent or run holds the dir.
pub async fn recover_state_dir(state_dir: impl AsRef<Path>) -> Result<StartupReport, AgentError> {
    let agent = Agent::open(state_dir).await?;
    let report = agent.startup_report().clone();
    agent.shutdown().await?;
    Ok(report)
}
