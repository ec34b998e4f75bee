//! How the engine reaches the faults: the agent library in-process (`faultline run`,
//! `faultline demo`) or node agents over HTTP (`faultline serve`). Same requests, same
//! journal and lease semantics either way.

use std::sync::Arc;

use faultline_agent::agent::{Agent, error_chain};
use faultline_agent::client::AgentClient;
use faultline_agent::faults::{FaultId, FaultRecord};
use faultline_agent::protocol::{ApplyRequest, RecoveredFault};

/// Where faults are carried out.
#[derive(Clone)]
pub enum Injector {
    /// The agent library in this process, journaling under its state dir.
    InProcess(Arc<Agent>),
    /// A node agent over HTTP.
    Remote(AgentClient),
}

impl Injector {
    /// Applies `req` to all its targets (all or nothing). The error text names the
    /// target and the step that failed.
    pub async fn apply(&self, req: ApplyRequest) -> Result<Vec<FaultRecord>, String> {
        match self {
            Injector::InProcess(a) => a.apply(req).await.map_err(|e| error_chain(&e)),
            Injector::Remote(c) => c
                .apply(&req)
                .await
                .map(|r| r.records)
                .map_err(|e| error_chain(&e)),
        }
    }

    /// Recovers every record of `id`.
    pub async fn recover(&self, id: &FaultId) -> Result<Vec<RecoveredFault>, String> {
        match self {
            Injector::InProcess(a) => a.recover(id.clone()).await.map_err(|e| error_chain(&e)),
            Injector::Remote(c) => c
                .recover(id)
                .await
                .map(|r| r.recovered)
                .map_err(|e| error_chain(&e)),
        }
    }

    /// Extends the lease of every record of `id`.
    pub async fn renew(&self, id: &FaultId, lease_seconds: u64) -> Result<(), String> {
        match self {
            Injector::InProcess(a) => a
                .renew(id.clone(), lease_seconds)
                .await
                .map(|_| ())
                .map_err(|e| error_chain(&e)),
            Injector::Remote(c) => c
                .renew(id, lease_seconds)
                .await
                .map(|_| ())
                .map_err(|e| error_chain(&e)),
        }
    }
}
