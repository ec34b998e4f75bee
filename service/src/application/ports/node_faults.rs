//! Node faults as the engine uses them (cluster mode): nodes chosen by a step's `nodes` /
//! `nodeSelectors` and mode under the guard, cordoned, tainted and drained through the API,
//! each change recorded on the Node itself (an annotation with a lease, like podFailure's)
//! so any replica restores it, and read back for `verify:`. The `kube` adapter implements
//! [`NodeFaults`]; the engine never sees a Kubernetes type.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_spec::{Guard, PodSelector, TaintEffect};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Why the cluster could not do what the engine asked of a node. A guard refusal is
/// named, because the engine words it for the run's reason; anything else is the
/// adapter's own error. (The engine reads it as a `ClusterError`: `cluster.rs`.)
#[derive(Debug, thiserror::Error)]
pub enum NodeFaultError {
    /// A guard limit would be exceeded, or a node already carries what the fault would
    /// add; nothing was changed.
    #[error("guard: {0}")]
    Guard(String),
    /// The Kubernetes adapter failed.
    #[error(transparent)]
    Kubernetes(Box<dyn std::error::Error + Send + Sync>),
}

/// What a node's restore found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRestored {
    /// The state before the fault was patched back.
    Restored,
    /// The node carries no record of the fault: restored already.
    NothingToRestore,
    /// The node is gone.
    NodeGone,
}

impl NodeRestored {
    /// The outcome as recorded on the run (`FaultRecovered.outcome`).
    pub const fn outcome(self) -> &'static str {
        match self {
            NodeRestored::Restored => "removed",
            NodeRestored::NothingToRestore => "alreadyGone",
            NodeRestored::NodeGone => "targetGone",
        }
    }
}

/// One chosen node, as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTarget {
    /// `metadata.name`.
    pub name: String,
    /// Its `InternalIP` addresses (else any address it reports).
    pub addresses: Vec<IpAddr>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl NodeTarget {
    /// The target text of run events, `node NAME`.
    pub fn label(&self) -> String {
        format!("node {}", self.name)
    }
}

/// The nodes one step hits.
#[derive(Debug, Clone)]
pub struct NodeSelection {
    /// How many nodes matched.
    pub matched: usize,
    /// The ones the mode chose.
    pub chosen: Vec<NodeTarget>,
    /// The selection as a person reads it.
    pub described: String,
}

/// A zone's nodes and the nodes of every other zone (`zoneOutage`).
#[derive(Debug, Clone)]
pub struct ZoneNodes {
    /// The nodes whose label is the zone.
    pub inside: Vec<NodeTarget>,
    /// The nodes whose label names another zone.
    pub outside: Vec<NodeTarget>,
}

/// A taint, as `nodeTaint` adds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    /// Its key.
    pub key: String,
    /// Its value (may be empty).
    #[serde(default)]
    pub value: String,
    /// Its effect.
    pub effect: TaintEffect,
}

impl std::fmt::Display for Taint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect.as_str())
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect.as_str())
        }
    }
}

/// What a node fault changes on the Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeChange {
    /// `spec.unschedulable: true` (nodeCordon, and the first half of nodeDrain).
    Cordon,
    /// One more taint.
    Taint(Taint),
}

impl NodeChange {
    /// What it does, for messages.
    pub fn describe(&self) -> String {
        match self {
            NodeChange::Cordon => "cordon".into(),
            NodeChange::Taint(t) => format!("taint {t}"),
        }
    }
}

/// What a node fault annotation holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMark {
    /// The fault that made the change.
    pub fault: String,
    /// Past this, no live run renews the fault and any sweep restores the node.
    pub expires: DateTime<Utc>,
    /// A cordon: whether the node was cordoned already (then recovery leaves it so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was_unschedulable: Option<bool>,
    /// A taint: the one added (recovery removes exactly it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taint: Option<Taint>,
}

/// What became of one pod of a drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvictionOutcome {
    /// The Eviction API accepted it (201).
    Evicted,
    /// The pod was gone already (404).
    Gone,
    /// Not evicted, as `kubectl drain` skips it: a DaemonSet or mirror pod, or one in a
    /// protected namespace.
    Skipped(String),
    /// A PodDisruptionBudget refused it (429) until the bound: the budget when the API
    /// named it, and its message.
    Blocked {
        /// The PodDisruptionBudget, when the answer names it.
        budget: Option<String>,
        /// The API server's message.
        message: String,
    },
}

/// One pod of a drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eviction {
    /// `NS/NAME`.
    pub pod: String,
    /// What became of it.
    pub outcome: EvictionOutcome,
}

/// What a node shows of the node faults, read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeState {
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// `spec.taints`.
    pub taints: Vec<Taint>,
}

/// The node operations of cluster mode.
pub trait NodeFaults: Send + Sync {
    /// Lists what `sel` (`nodes`, `nodeSelectors`, mode) matches and checks `guard`
    /// against the most the mode could hit, without choosing. The number matching.
    fn check<'a>(
        &'a self,
        sel: &'a PodSelector,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<usize, NodeFaultError>>;

    /// The nodes one step hits: matched, guarded, then chosen by the mode.
    fn select<'a>(
        &'a self,
        sel: &'a PodSelector,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<NodeSelection, NodeFaultError>>;

    /// The nodes of zone `zone` (label `label`), guarded, and those of every other zone.
    fn zone<'a>(
        &'a self,
        label: &'a str,
        zone: &'a str,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<ZoneNodes, NodeFaultError>>;

    /// Makes `change` on node `name` for fault `fault`, leased until `expires`, the record
    /// written in the same patch. Applying twice is applying once.
    fn apply<'a>(
        &'a self,
        name: &'a str,
        change: &'a NodeChange,
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), NodeFaultError>>;

    /// Moves the lease of fault `fault`'s records on node `name` to `expires`.
    fn renew<'a>(
        &'a self,
        name: &'a str,
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), NodeFaultError>>;

    /// Undoes what fault `fault` recorded on node `name` (every faultline record when
    /// `None`): the state before the cordon, the taint removed, the records removed.
    fn restore<'a>(
        &'a self,
        name: &'a str,
        fault: Option<&'a str>,
    ) -> BoxFuture<'a, Result<NodeRestored, NodeFaultError>>;

    /// Evicts every evictable pod on node `name` through the Eviction API, retrying those
    /// a PodDisruptionBudget refuses for `retry_for`; never forced. Pods in `protected`
    /// (the experiment's `guard.protectedNamespaces`), as in the service's own protected
    /// namespaces, are left.
    fn evict_all<'a>(
        &'a self,
        name: &'a str,
        grace_seconds: Option<u32>,
        retry_for: Duration,
        protected: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Eviction>, NodeFaultError>>;

    /// What node `name` shows now; `None` when it is gone.
    fn read<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<NodeState>, NodeFaultError>>;
}
