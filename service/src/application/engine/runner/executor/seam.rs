//! The seam's contract: the [`Executor`] trait, what it is asked ([`Order`]), what an
//! apply did ([`Applied`]), why it failed ([`ExecError`]), and what the agent-backed
//! executors share.

use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_agent::agent::{AgentError, error_chain};
use faultline_agent::client::ClientError;
use faultline_agent::faults::FaultId;
use faultline_agent::protocol::{ApplyRequest, RecoveredFault};
use faultline_exporter::TraceParent;

use crate::application::ports::{ClusterError, NodeChange, Taint};
use crate::domain::ExecutorRef;

/// What an executor is asked to carry out.
pub(crate) enum Order {
    /// A node fault: one request to one agent. `labels[i]` names target `i` in the run's
    /// events (`pod NS/NAME`); `None` uses the record's own target.
    Node {
        /// The request (its id is the fault request's; boxed: it is far larger than the
        /// pod orders).
        req: Box<ApplyRequest>,
        /// Event target per request target.
        labels: Vec<Option<String>>,
    },
    /// Delete the executor's pods.
    PodKill {
        /// Overrides each pod's own grace period.
        grace_seconds: Option<u32>,
    },
    /// Swap the images of the executor's pods for a pause image.
    PodFailure {
        /// The containers (all when empty).
        containers: Vec<String>,
    },
    /// Cordon, taint or drain the executor's nodes.
    OnNodes {
        /// What to do to each node.
        order: NodeOrder,
        /// The run's agent lease (a node's record lasts longer: `nodes.rs`).
        lease: Duration,
    },
}

impl Order {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Order::Node { .. } => "node faults",
            Order::PodKill { .. } => "podKill",
            Order::PodFailure { .. } => "podFailure",
            Order::OnNodes { .. } => "node faults through the Kubernetes API",
        }
    }
}

/// What a node executor is asked to do to its nodes.
#[derive(Debug, Clone)]
pub(crate) enum NodeOrder {
    /// `spec.unschedulable: true`.
    Cordon,
    /// One more taint.
    Taint(Taint),
    /// Cordon, then evict every evictable pod.
    Drain {
        /// Each eviction's grace period; default each pod's own.
        grace_seconds: Option<u32>,
        /// How long refused evictions are tried again.
        retry_for: Duration,
        /// Namespaces whose pods are left (`guard.protectedNamespaces`).
        protected: Vec<String>,
    },
}

impl NodeOrder {
    /// The change each node gets (a drain's is a cordon).
    pub(super) fn change(&self) -> NodeChange {
        match self {
            NodeOrder::Taint(t) => NodeChange::Taint(t.clone()),
            NodeOrder::Cordon | NodeOrder::Drain { .. } => NodeChange::Cordon,
        }
    }
}

/// One target an apply hit.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// The event's fault id (`<request id>-<index>`).
    pub(crate) fault: String,
    /// The event's target.
    pub(crate) target: String,
    /// The node it runs on, when known.
    pub(crate) node: Option<String>,
    /// For an instant fault the executor carried out and finished at once (podKill):
    /// the outcome to record.
    pub(crate) finished: Option<String>,
}

/// What an apply did: the targets it hit, and why it stopped short of the others. An
/// apply over many pods can half succeed; the hits are recorded either way.
pub(crate) struct Applied {
    /// What became active (or, for an instant fault, was hit).
    pub(crate) hits: Vec<Hit>,
    /// The first failure.
    pub(crate) error: Option<ExecError>,
}

impl Applied {
    pub(super) fn from_result(r: Result<Vec<Hit>, ExecError>) -> Applied {
        match r {
            Ok(hits) => Applied { hits, error: None },
            Err(e) => Applied {
                hits: Vec::new(),
                error: Some(e),
            },
        }
    }
}

/// One target's fault as read back after the apply.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The target, as the run's events name it.
    pub(crate) target: String,
    /// The fault is seen in effect on it.
    pub(crate) effective: bool,
    /// What was read.
    pub(crate) evidence: String,
}

/// `(event fault id, outcome)` of one recovered target.
pub(crate) type Recovered = (String, String);

/// Why an executor did not do what was asked. The messages read as the run's reasons
/// always have: the agent's chain, the named agent, or each pod's error joined.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    /// The in-process agent refused or failed the request.
    #[error(transparent)]
    InProcess(#[from] AgentError),
    /// The run's own node agent (`serve --agent URL`) could not be reached or failed.
    #[error(transparent)]
    Remote(ClientError),
    /// A node agent found through the cluster could not apply a fault.
    #[error("{agent}")]
    AgentApply {
        /// The agent, its pod and its node.
        agent: String,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// A node agent found through the cluster could not renew or recover a fault.
    #[error("agent on node {node}")]
    Agent {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// The Kubernetes API failed (a delete, a patch, finding an agent).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Some pods could not be restored: each one's error.
    #[error("{}", restore_errors(.0))]
    Restore(Vec<ClusterError>),
    /// A fault recorded as carried out through the Kubernetes API, with no cluster to
    /// reach (a restart without `--kubernetes`).
    #[error("podFailure recovery needs cluster mode")]
    NoCluster,
    /// The executor a previous process applied a fault through is not configured in this
    /// one (its agent is not known here).
    #[error("{executor} is not reachable from this process")]
    Unreachable {
        /// The executor as the store names it.
        executor: String,
    },
    /// An order this executor does not carry out (a bug in the lifecycle).
    #[error("the {executor} executor does not carry out {order}")]
    Unsupported {
        /// The executor.
        executor: &'static str,
        /// The order.
        order: &'static str,
    },
}

fn restore_errors(errors: &[ClusterError]) -> String {
    errors
        .iter()
        .map(|e| error_chain(e))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Carries faults out: apply sets the desired state, renew extends the lease that bounds
/// it, recover removes what this fault set up.
pub(crate) trait Executor {
    /// Who carries the fault out, as the run's events name it.
    fn agent(&self) -> String;

    /// Where the fault lives, as the store keeps it for a restarted service.
    fn reference(&self) -> ExecutorRef;

    /// How long a fault applied with agent lease `lease` lasts unless renewed.
    fn lease(&self, lease: Duration) -> Duration {
        lease
    }

    /// Applies fault request `id` (`order`) under `parent`, the fault's span.
    async fn apply(&self, id: &FaultId, order: &Order, parent: Option<&TraceParent>) -> Applied;

    /// Extends the lease of fault request `id` by `lease` from now; the new expiry when
    /// anything was renewed.
    async fn renew(
        &self,
        id: &FaultId,
        lease: Duration,
        parent: Option<&TraceParent>,
    ) -> Result<Option<DateTime<Utc>>, ExecError>;

    /// Reads back whether fault request `id` is in effect on each of its targets; `None`
    /// when this executor cannot read its faults back.
    async fn observe(
        &self,
        id: &FaultId,
        order: &Order,
        parent: Option<&TraceParent>,
    ) -> Result<Option<Vec<Seen>>, ExecError>;

    /// Recovers every target of fault request `id`.
    async fn recover(
        &self,
        id: &FaultId,
        parent: Option<&TraceParent>,
    ) -> Result<Vec<Recovered>, ExecError>;
}

/// Hits from an agent's records: one per record, named by `labels` (target order) or by
/// the record's own target.
pub(super) fn agent_hits(
    records: &[faultline_agent::faults::FaultRecord],
    labels: &[Option<String>],
    node: Option<&str>,
) -> Vec<Hit> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| Hit {
            fault: r.id.to_string(),
            target: labels
                .get(i)
                .cloned()
                .flatten()
                .unwrap_or_else(|| r.target.to_string()),
            node: node.map(str::to_string),
            finished: None,
        })
        .collect()
}

/// What an agent read back, named like the apply's hits (`labels`, else the record's
/// target).
pub(super) fn agent_seen(
    observed: Vec<faultline_agent::protocol::ObservedFault>,
    order: &Order,
) -> Vec<Seen> {
    let labels: &[Option<String>] = match order {
        Order::Node { labels, .. } => labels,
        _ => &[],
    };
    observed
        .into_iter()
        .map(|o| {
            let index =
                o.id.as_str()
                    .rsplit('-')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok());
            Seen {
                target: index
                    .and_then(|i| labels.get(i).cloned().flatten())
                    .unwrap_or(o.target),
                effective: o.effective,
                evidence: o.evidence,
            }
        })
        .collect()
}

/// What an agent's recovery found, as the run records it.
pub(super) fn outcomes(recovered: Vec<RecoveredFault>) -> Vec<Recovered> {
    recovered
        .into_iter()
        .map(|r| {
            let outcome = serde_json::to_value(&r.outcome)
                .ok()
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| Some(v.to_string()))
                })
                .unwrap_or_default();
            (r.id.to_string(), outcome)
        })
        .collect()
}

/// The expiry of a lease of `lease` starting now.
pub(super) fn expiry(lease: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default()
}
