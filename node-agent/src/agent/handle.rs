//! [`Agent`], the cheap cloneable handle: it starts the agent thread and sends it
//! commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use faultline_exporter::{AgentMetrics, RecoveryReason};
use tokio::sync::{mpsc, oneshot};

use super::command::{Command, Reply, StartupReport};
use super::core::BeforeLasting;
use super::error::AgentError;
use super::thread;
use crate::faults::{FaultId, FaultRecord};
use crate::protocol::{ApplyRequest, ObservedFault, RecoveredFault};

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
        let metrics = new_metrics()?;
        Agent::open_with(state_dir, Arc::new(metrics)).await
    }

    /// As [`Agent::open`], with metrics the caller owns (to serve them with others).
    pub async fn open_with(
        state_dir: impl AsRef<Path>,
        metrics: Arc<AgentMetrics>,
    ) -> Result<Agent, AgentError> {
        Agent::start(state_dir.as_ref(), metrics, None).await
    }

    /// As [`Agent::open`], calling `before_lasting` on the agent thread before the first
    /// fault that stays applied is journaled (see [`BeforeLasting`]).
    pub async fn open_guarded(
        state_dir: impl AsRef<Path>,
        before_lasting: BeforeLasting,
    ) -> Result<Agent, AgentError> {
        let metrics = new_metrics()?;
        Agent::start(state_dir.as_ref(), Arc::new(metrics), Some(before_lasting)).await
    }

    async fn start(
        state_dir: &Path,
        metrics: Arc<AgentMetrics>,
        before_lasting: Option<BeforeLasting>,
    ) -> Result<Agent, AgentError> {
        let dir = state_dir.to_path_buf();
        metrics.init_kinds(faultline_spec::NodeFault::ALL_NAMES);
        let (tx, rx) = mpsc::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (m, d) = (metrics.clone(), dir.clone());
        std::thread::Builder::new()
            .name("faultline-agent-core".into())
            .spawn(move || thread::run(d, m, rx, ready_tx, before_lasting))
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

    /// Reads back whether each record of request `id` (or record `id`) is in effect:
    /// active records and instant ones (kills) done lately. `NotFound` if it holds none.
    pub async fn observe(&self, id: FaultId) -> Result<Vec<ObservedFault>, AgentError> {
        self.call(|r| Command::Observe(id, r)).await
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

fn new_metrics() -> Result<AgentMetrics, AgentError> {
    AgentMetrics::new(env!("CARGO_PKG_VERSION")).map_err(|e| AgentError::Start {
        step: "register agent metrics",
        source: Box::new(e),
    })
}

/// `faultline recover`: removes whatever a killed agent or run left in `state_dir`, then
/// releases it. Fails with a clear error while another agent or run holds the dir.
pub async fn recover_state_dir(state_dir: impl AsRef<Path>) -> Result<StartupReport, AgentError> {
    let agent = Agent::open(state_dir).await?;
    let report = agent.startup_report().clone();
    agent.shutdown().await?;
    Ok(report)
}
