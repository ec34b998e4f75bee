//! The Kubernetes cluster as the engine and dry runs use it (`faultline serve
//! --kubernetes`): pods resolved by a step's selector under the guard, pods killed and
//! failed through the API, and the agent of each pod's node. The `kube` adapter
//! implements these ports over the API server; the engine never sees a Kubernetes type.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use faultline_agent::client::AgentClient;
use faultline_spec::{Guard, LocalTarget, NodeFault, PodSelector};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Why the cluster could not do what the engine asked. The guard, agent and container
/// refusals are named, because the engine words them for the run's reason; anything else
/// is the adapter's own error.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A guard limit would be exceeded; nothing was injected.
    #[error("guard: {0}")]
    Guard(String),
    /// The selected pod is not on a node yet, or its node has no ready agent.
    #[error("{target}: {message}")]
    NoAgent {
        /// `pod NS/NAME` or `node NAME`.
        target: String,
        /// Why: not scheduled, no agent pod on its node, agent not ready.
        message: String,
    },
    /// The pod has no running container that the fault could aim at.
    #[error("pod {pod}: {message}")]
    NoContainer {
        /// `NS/NAME`.
        pod: String,
        /// Which container is missing or has no ID yet.
        message: String,
    },
    /// The Kubernetes adapter failed (the API server, the config, an agent client).
    #[error(transparent)]
    Kubernetes(Box<dyn std::error::Error + Send + Sync>),
}

impl From<super::node_faults::NodeFaultError> for ClusterError {
    fn from(e: super::node_faults::NodeFaultError) -> ClusterError {
        match e {
            super::node_faults::NodeFaultError::Guard(why) => ClusterError::Guard(why),
            super::node_faults::NodeFaultError::Kubernetes(e) => ClusterError::Kubernetes(e),
        }
    }
}

/// One chosen pod, as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTarget {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The node it runs on (`spec.nodeName`); `None` while unscheduled.
    pub node: Option<String>,
    /// Containers by name, with the runtime's container ID once started (the scheme
    /// prefix, `containerd://`, removed).
    pub containers: Vec<(String, Option<String>)>,
    /// The pod's IPs (`status.podIPs`, else `status.podIP`); empty until it has one.
    pub ips: Vec<std::net::IpAddr>,
    /// `metadata.uid` when listed: podKill's observation tells the killed pod from a
    /// replacement of the same name by it.
    pub uid: Option<String>,
    /// Its controller, when it has one: podKill's observation looks for its replacement.
    pub owner: Option<super::pod_read::PodOwner>,
}

impl PodTarget {
    /// `NS/NAME`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The target text of run events, `pod NS/NAME` (metrics read the namespace from it).
    pub fn label(&self) -> String {
        format!("pod {}", self.key())
    }

    /// The agent targets of one pod: for containerKill the named containers, for every other
    /// agent fault the pod's first started container (network faults act on the pod's shared
    /// network namespace, stress on the container's cgroup, as Chaos Mesh does by default).
    pub fn agent_targets(&self, kind: &NodeFault) -> Result<Vec<LocalTarget>, ClusterError> {
        let started = |name: &str| -> Result<LocalTarget, ClusterError> {
            match self.containers.iter().find(|(n, _)| n == name) {
                Some((_, Some(id))) => Ok(LocalTarget::ContainerId(id.clone())),
                Some((_, None)) => Err(ClusterError::NoContainer {
                    pod: self.key(),
                    message: format!("container `{name}` has not started (no containerID yet)"),
                }),
                None => Err(ClusterError::NoContainer {
                    pod: self.key(),
                    message: format!(
                        "containerKill.containerNames: no container `{name}` (the pod has {})",
                        self.containers
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            }
        };
        match kind {
            NodeFault::ContainerKill(k) => k.container_names.iter().map(|n| started(n)).collect(),
            _ => self
                .containers
                .iter()
                .find_map(|(_, id)| id.clone())
                .map(|id| vec![LocalTarget::ContainerId(id)])
                .ok_or_else(|| ClusterError::NoContainer {
                    pod: self.key(),
                    message: "no container has started yet (no containerID)".into(),
                }),
        }
    }
}

/// The pods one step hits.
#[derive(Debug, Clone)]
pub struct Selection {
    /// How many pods matched the selector.
    pub matched: usize,
    /// The ones the mode chose.
    pub chosen: Vec<PodTarget>,
    /// The selector as a person reads it.
    pub described: String,
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// The API server accepted the delete.
    Deleted,
    /// The pod was already gone (404): the outcome the fault wanted.
    AlreadyGone,
}

/// What the annotation holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginalImages {
    /// The fault that swapped the images.
    pub fault: String,
    /// Container name -> the image it had before.
    pub containers: BTreeMap<String, String>,
    /// Past this, no live run renews the fault and any sweep restores the pod.
    pub expires: DateTime<Utc>,
}

/// What a restore found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The original images were patched back.
    Restored,
    /// The pod carries no annotation: restored already.
    NothingToRestore,
    /// The pod is gone (its controller made a new one with the right images).
    PodGone,
}

impl Restored {
    /// The outcome as recorded on the run (`FaultRecovered.outcome`).
    pub const fn outcome(self) -> &'static str {
        match self {
            Restored::Restored => "removed",
            Restored::NothingToRestore => "alreadyGone",
            Restored::PodGone => "targetGone",
        }
    }
}

/// One node's agent.
#[derive(Debug, Clone)]
pub struct NodeAgent {
    /// The agent pod, `NS/NAME`.
    pub pod: String,
    /// `http://IP:PORT`.
    pub url: String,
    /// A client for it.
    pub client: AgentClient,
}

/// An agent pod the directory found, for the health probe.
#[derive(Debug, Clone)]
pub struct DiscoveredAgent {
    /// The agent pod, `NS/NAME`.
    pub pod: String,
    /// `http://IP:PORT`, when the pod is running, ready and has an IP; `None` counts as
    /// unhealthy without a call.
    pub url: Option<String>,
    /// The node it runs on (`spec.nodeName`), once scheduled.
    pub node: Option<String>,
}

/// The pod operations of cluster mode.
pub trait PodCluster: Send + Sync {
    /// Lists what `sel` matches and checks `guard` against the most the mode could hit,
    /// without choosing: the check made before anything of the run is injected. The
    /// number of matching pods.
    fn check<'a>(
        &'a self,
        sel: &'a PodSelector,
        experiment_ns: Option<&'a str>,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<usize, ClusterError>>;

    /// The pods one step hits: matched, guarded, then chosen by the mode.
    fn select<'a>(
        &'a self,
        sel: &'a PodSelector,
        experiment_ns: Option<&'a str>,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<Selection, ClusterError>>;

    /// The peer pods of a network fault, chosen by their mode with no guard (peers only
    /// send or receive the affected traffic).
    fn select_peers<'a>(
        &'a self,
        sel: &'a PodSelector,
        experiment_ns: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Selection, ClusterError>>;

    /// Deletes pod `ns/name` (podKill); `grace_seconds` overrides the pod's own grace
    /// period.
    fn kill_pod<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        grace_seconds: Option<u32>,
    ) -> BoxFuture<'a, Result<Killed, ClusterError>>;

    /// Pod `ns/name` as it is now; `None` when it is gone (404). Pod faults' observation.
    fn read_pod<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<super::pod_read::PodRead>, ClusterError>>;

    /// The pods in `ns` that `owner` controls (podKill's observation: a replacement).
    fn owned_pods<'a>(
        &'a self,
        ns: &'a str,
        owner: &'a super::pod_read::PodOwner,
    ) -> BoxFuture<'a, Result<Vec<super::pod_read::PodRead>, ClusterError>>;

    /// podFailure's image swapper.
    fn pod_failure(&self) -> &dyn PodFailures;

    /// The node agents.
    fn agents(&self) -> &dyn NodeAgents;

    /// The pods of task steps.
    fn tasks(&self) -> &dyn super::task_pods::TaskPods;

    /// Whether this replica leads (holds the leader Lease), once an elector runs:
    /// `/readyz` reports it.
    fn leads(&self) -> Option<bool>;

    /// The node faults (nodeCordon, nodeTaint, nodeDrain, zoneOutage's nodes); `None`
    /// when this cluster cannot carry them out.
    fn nodes(&self) -> Option<&dyn super::node_faults::NodeFaults> {
        None
    }
}

/// podFailure: containers swapped to a pause image, the originals kept on the pod.
pub trait PodFailures: Send + Sync {
    /// Swaps the images of `containers` of pod `ns/name` (all when empty) for fault
    /// `fault`, leased until `expires`; what the pod now records.
    fn fail<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        containers: &'a [String],
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<OriginalImages, ClusterError>>;

    /// Moves the lease of `record` on pod `ns/name` to `record.expires`.
    fn renew<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        record: &'a OriginalImages,
    ) -> BoxFuture<'a, Result<(), ClusterError>>;

    /// The image failed containers are given (`--pause-image`): what podFailure's
    /// observation expects to read back.
    fn pause_image(&self) -> &str;

    /// Patches the original images of pod `ns/name` back.
    fn restore<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Restored, ClusterError>>;
}

/// Where the node agents are found (a DaemonSet, in cluster mode).
pub trait NodeAgents: Send + Sync {
    /// The agent of every node in `nodes`; a node without a ready agent is an error.
    fn for_nodes<'a>(
        &'a self,
        nodes: &'a BTreeSet<String>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, NodeAgent>, ClusterError>>;

    /// Every agent pod, ready or not (the health probe).
    fn discover(&self) -> BoxFuture<'_, Result<Vec<DiscoveredAgent>, ClusterError>>;

    /// The bearer token the agents expect.
    fn token(&self) -> Option<String>;

    /// How the agents are reached over HTTPS (`--agent-ca`); `None`: plain HTTP.
    fn tls(&self) -> Option<faultline_agent::tls::ClientTls> {
        None
    }
}
