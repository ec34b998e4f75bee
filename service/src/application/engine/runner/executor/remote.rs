//! A node agent over HTTP: the run's own (`serve --agent URL`) or, in cluster mode, the
//! agent of one node, one request per node. Calls carry the fault span's W3C trace context.

use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_agent::client::{AgentClient, ClientError};
use faultline_agent::faults::FaultId;
use faultline_exporter::TraceParent;

use super::seam::{
    Applied, ExecError, Executor, Order, Recovered, Seen, agent_hits, agent_seen, outcomes,
};
use crate::domain::ExecutorRef;

/// A node agent and how the run names it.
#[derive(Clone)]
pub(crate) struct Remote {
    client: AgentClient,
    /// The URL events name (the agent pod's, in cluster mode).
    url: String,
    /// In cluster mode: the node, and the agent as errors name it (`agent POD (URL) on
    /// node NODE`).
    node: Option<(String, String)>,
}

impl Remote {
    /// The run's own agent.
    pub(crate) fn new(client: AgentClient) -> Remote {
        Remote {
            url: client.url().to_string(),
            client,
            node: None,
        }
    }

    /// The agent of `node` at `url`, named `who` in errors.
    pub(crate) fn on_node(client: AgentClient, url: String, node: String, who: String) -> Remote {
        Remote {
            client,
            url,
            node: Some((node, who)),
        }
    }

    /// An error of a renewal or recovery, naming the node in cluster mode.
    fn failed(&self, source: ClientError) -> ExecError {
        match &self.node {
            Some((node, _)) => ExecError::Agent {
                node: node.clone(),
                source,
            },
            None => ExecError::Remote(source),
        }
    }
}

impl Executor for Remote {
    fn agent(&self) -> String {
        self.url.clone()
    }

    fn reference(&self) -> ExecutorRef {
        ExecutorRef::Agent {
            url: self.url.clone(),
            node: self.node.as_ref().map(|(n, _)| n.clone()),
        }
    }

    async fn apply(&self, _id: &FaultId, order: &Order, parent: Option<&TraceParent>) -> Applied {
        let Order::Node { req, labels } = order else {
            return Applied::from_result(Err(ExecError::Unsupported {
                executor: "node agent",
                order: order.name(),
            }));
        };
        let node = self.node.as_ref().map(|(n, _)| n.as_str());
        Applied::from_result(
            self.client
                .apply_under(req, parent)
                .await
                .map(|r| agent_hits(&r.records, labels, node))
                .map_err(|source| match &self.node {
                    Some((_, who)) => ExecError::AgentApply {
                        agent: who.clone(),
                        source,
                    },
                    None => ExecError::Remote(source),
                }),
        )
    }

    async fn renew(
        &self,
        id: &FaultId,
        lease: Duration,
        parent: Option<&TraceParent>,
    ) -> Result<Option<DateTime<Utc>>, ExecError> {
        self.client
            .renew_under(id, lease.as_secs().max(1), parent)
            .await
            .map(|r| Some(r.lease_until))
            .map_err(|e| self.failed(e))
    }

    async fn observe(
        &self,
        id: &FaultId,
        order: &Order,
        parent: Option<&TraceParent>,
    ) -> Result<Option<Vec<Seen>>, ExecError> {
        let r = self
            .client
            .observe_under(id, parent)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(Some(agent_seen(r.observations, order)))
    }

    async fn recover(
        &self,
        id: &FaultId,
        parent: Option<&TraceParent>,
    ) -> Result<Vec<Recovered>, ExecError> {
        self.client
            .recover_under(id, parent)
            .await
            .map(|r| outcomes(r.recovered))
            .map_err(|e| self.failed(e))
    }
}
