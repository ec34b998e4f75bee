//! The agent library in this process (`faultline run`, `faultline demo`, `serve` without
//! agents): same requests, journal and lease semantics as a node agent, with no hop to
//! carry a trace context over.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_agent::agent::Agent;
use faultline_agent::faults::FaultId;
use faultline_agent::protocol::ApplyRequest;
use faultline_exporter::TraceParent;

use super::seam::{
    Applied, ExecError, Executor, Order, Recovered, Seen, agent_hits, agent_seen, outcomes,
};
use crate::application::engine::inject::IN_PROCESS;
use crate::domain::ExecutorRef;

/// The in-process agent, journaling under the state dir.
#[derive(Clone)]
pub(crate) struct InProcess {
    agent: Arc<Agent>,
}

impl InProcess {
    pub(crate) fn new(agent: Arc<Agent>) -> InProcess {
        InProcess { agent }
    }
}

impl Executor for InProcess {
    fn agent(&self) -> String {
        IN_PROCESS.to_string()
    }

    fn reference(&self) -> ExecutorRef {
        ExecutorRef::InProcess
    }

    async fn apply(&self, _id: &FaultId, order: &Order, _: Option<&TraceParent>) -> Applied {
        let Order::Node { req, labels } = order else {
            return Applied::from_result(Err(ExecError::Unsupported {
                executor: IN_PROCESS,
                order: order.name(),
            }));
        };
        Applied::from_result(
            self.agent
                .apply(ApplyRequest::clone(req))
                .await
                .map(|records| agent_hits(&records, labels, None))
                .map_err(ExecError::from),
        )
    }

    async fn renew(
        &self,
        id: &FaultId,
        lease: Duration,
        _: Option<&TraceParent>,
    ) -> Result<Option<DateTime<Utc>>, ExecError> {
        let (_, until) = self.agent.renew(id.clone(), lease.as_secs().max(1)).await?;
        Ok(Some(until))
    }

    async fn observe(
        &self,
        id: &FaultId,
        order: &Order,
        _: Option<&TraceParent>,
    ) -> Result<Option<Vec<Seen>>, ExecError> {
        let observed = self.agent.observe(id.clone()).await?;
        Ok(Some(agent_seen(observed, order)))
    }

    async fn recover(
        &self,
        id: &FaultId,
        _: Option<&TraceParent>,
    ) -> Result<Vec<Recovered>, ExecError> {
        let recovered = self.agent.recover(id.clone()).await?;
        if recovered.is_empty() {
            // Recovered already when the agent opened its journal (a previous process
            // died with it active): what that found.
            let at_start = &self.agent.startup_report().recovered;
            let prefix = format!("{id}-");
            return Ok(outcomes(
                at_start
                    .iter()
                    .filter(|r| r.id.as_str().starts_with(&prefix))
                    .cloned()
                    .collect(),
            ));
        }
        Ok(outcomes(recovered))
    }
}
