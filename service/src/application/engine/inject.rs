//! How the engine reaches the faults: the agent library in-process (`faultline run`,
//! `faultline demo`) or node agents over HTTP (`faultline serve`). Same requests, same
//! journal and lease semantics either way. Calls to a node agent carry the fault span's
//! W3C trace context when the run is traced; in-process calls have no hop to carry it over.

use std::sync::Arc;

use faultline_agent::agent::{Agent, AgentError};
use faultline_agent::client::{AgentClient, ClientError};
use faultline_agent::faults::{FaultId, FaultRecord};
use faultline_agent::protocol::{ApplyRequest, RecoveredFault};
use faultline_exporter::TraceParent;

/// The `agent` of faults the in-process agent applies (events, span attributes).
pub const IN_PROCESS: &str = "in-process";
/// The `agent` of pod faults (podKill, podFailure): the service itself, through the
/// Kubernetes API.
pub const KUBERNETES_API: &str = "kubernetes-api";

/// Why the agent did not do what was asked. Transparent: the message is the agent's, with
/// its causes, whichever way it was reached.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// The in-process agent refused or failed the request.
    #[error(transparent)]
    InProcess(#[from] AgentError),
    /// The node agent could not be reached, or answered with an error.
    #[error(transparent)]
    Remote(#[from] ClientError),
}

/// Where faults are carried out.
#[derive(Clone)]
pub enum Injector {
    /// The agent library in this process, journaling under its state dir.
    InProcess(Arc<Agent>),
    /// A node agent over HTTP.
    Remote(AgentClient),
}

impl Injector {
    /// Who applies the faults: [`IN_PROCESS`] or the node agent's URL.
    pub fn agent(&self) -> String {
        match self {
            Injector::InProcess(_) => IN_PROCESS.to_string(),
            Injector::Remote(c) => c.url().to_string(),
        }
    }

    /// Applies `req` to all its targets (all or nothing), under `parent` (the fault's
    /// span). The error names the target and the step that failed.
    pub async fn apply(
        &self,
        req: ApplyRequest,
        parent: Option<&TraceParent>,
    ) -> Result<Vec<FaultRecord>, InjectError> {
        match self {
            Injector::InProcess(a) => a.apply(req).await.map_err(InjectError::from),
            Injector::Remote(c) => c
                .apply_under(&req, parent)
                .await
                .map(|r| r.records)
                .map_err(InjectError::from),
        }
    }

    /// Recovers every record of `id`.
    pub async fn recover(
        &self,
        id: &FaultId,
        parent: Option<&TraceParent>,
    ) -> Result<Vec<RecoveredFault>, InjectError> {
        match self {
            Injector::InProcess(a) => a.recover(id.clone()).await.map_err(InjectError::from),
            Injector::Remote(c) => c
                .recover_under(id, parent)
                .await
                .map(|r| r.recovered)
                .map_err(InjectError::from),
        }
    }

    /// Extends the lease of every record of `id`.
    pub async fn renew(
        &self,
        id: &FaultId,
        lease_seconds: u64,
        parent: Option<&TraceParent>,
    ) -> Result<(), InjectError> {
        match self {
            Injector::InProcess(a) => a
                .renew(id.clone(), lease_seconds)
                .await
                .map(|_| ())
                .map_err(InjectError::from),
            Injector::Remote(c) => c
                .renew_under(id, lease_seconds, parent)
                .await
                .map(|_| ())
                .map_err(InjectError::from),
        }
    }
}
