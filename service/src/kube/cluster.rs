//! The handle the engine holds in cluster mode: resolves a step's pods (selectors, mode,
//! guard), and gives access to the pod faults and the agents of the pods' nodes.

use std::sync::{Arc, Mutex, OnceLock};

use ::kube::Client;
use faultline_agent::tls::ClientTls;
use faultline_spec::{Guard, PodSelector};
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::watch;

use super::agents::{AgentDirectory, AgentSettings};
use super::error::KubeError;
use super::nodes::NodeInjector;
use super::pod_failure::PodFailureInjector;
use super::resolve::{DEFAULT_PAGE_SIZE, Resolver};
use super::select::{choose, describe, pod_key};
use super::task_pod::TaskPodRunner;
use crate::application::ports::{PodTarget, Selection};
use crate::domain::selection::max_chosen;

/// Cluster-mode settings from `faultline serve --kubernetes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// How the node agents are found and reached.
    pub agents: AgentSettings,
    /// The image podFailure swaps in (`--pause-image`).
    pub pause_image: String,
    /// Namespaces no run may touch, whatever the experiment says (`--protect-namespace`).
    pub protected_namespaces: Vec<String>,
    /// Pods per list call.
    pub page_size: u32,
    /// HTTPS to the agents (`--agent-ca`); `None`: plain HTTP.
    pub agent_tls: Option<ClientTls>,
}

impl ClusterConfig {
    /// Defaults around `agents`: pause 3.10, kube-system protected, 500 pods a page.
    pub fn new(agents: AgentSettings) -> ClusterConfig {
        ClusterConfig {
            agents,
            pause_image: "registry.k8s.io/pause:3.10".into(),
            protected_namespaces: vec!["kube-system".into()],
            page_size: DEFAULT_PAGE_SIZE,
            agent_tls: None,
        }
    }
}

/// The engine's view of a listed pod.
pub fn pod_target(pod: &Pod) -> PodTarget {
    let spec_names: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    let containers = spec_names
        .into_iter()
        .map(|n| {
            let id = statuses
                .and_then(|st| st.iter().find(|c| c.name == n))
                .and_then(|c| c.container_id.as_deref())
                .map(strip_runtime)
                .filter(|id| !id.is_empty());
            (n, id)
        })
        .collect();
    let status = pod.status.as_ref();
    let mut ips: Vec<std::net::IpAddr> = status
        .and_then(|s| s.pod_ips.as_ref())
        .map(|v| v.iter().filter_map(|ip| ip.ip.parse().ok()).collect())
        .unwrap_or_default();
    if ips.is_empty()
        && let Some(ip) = status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse().ok())
    {
        ips.push(ip);
    }
    PodTarget {
        ips,
        uid: pod.metadata.uid.clone(),
        owner: super::pod_read::pod_owner(pod),
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        containers,
    }
}

/// `containerd://abc` -> `abc` (also `cri-o://`, `docker://`).
fn strip_runtime(id: &str) -> String {
    id.split_once("://")
        .map_or(id, |(_, rest)| rest)
        .to_string()
}

/// Everything cluster mode needs, cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    resolver: Resolver,
    agents: AgentDirectory,
    pod_failure: PodFailureInjector,
    tasks: TaskPodRunner,
    nodes: NodeInjector,
    protected: Vec<String>,
    rng: Mutex<fastrand::Rng>,
    /// The leader elector's view, once one runs.
    leader: OnceLock<watch::Receiver<bool>>,
}

impl Cluster {
    /// A handle over `client` with `cfg`.
    pub fn new(client: Client, cfg: ClusterConfig) -> Cluster {
        let resolver = Resolver::new(client.clone(), cfg.page_size);
        Cluster {
            inner: Arc::new(Inner {
                agents: AgentDirectory::new(resolver.clone(), cfg.agents).with_tls(cfg.agent_tls),
                pod_failure: PodFailureInjector::new(client.clone(), cfg.pause_image),
                tasks: TaskPodRunner::new(client.clone(), cfg.protected_namespaces.clone()),
                nodes: NodeInjector::new(client.clone()),
                resolver,
                client,
                protected: cfg.protected_namespaces,
                rng: Mutex::new(fastrand::Rng::new()),
                leader: OnceLock::new(),
            }),
        }
    }

    /// Reports leadership from `leading` (a [`LeaderElector`](super::LeaderElector)'s
    /// subscription) from now on; the first one set stays.
    pub fn follow_leadership(&self, leading: watch::Receiver<bool>) {
        let _ = self.inner.leader.set(leading);
    }

    /// Whether this replica leads, when an elector runs.
    pub fn leads(&self) -> Option<bool> {
        self.inner.leader.get().map(|rx| *rx.borrow())
    }

    /// The API client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The pod lister.
    pub fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }

    /// The node agents.
    pub fn agents(&self) -> &AgentDirectory {
        &self.inner.agents
    }

    /// podFailure's image swapper.
    pub fn pod_failure(&self) -> &PodFailureInjector {
        &self.inner.pod_failure
    }

    /// The pods of task steps.
    pub fn tasks(&self) -> &TaskPodRunner {
        &self.inner.tasks
    }

    /// Node selection, cordons and taints.
    pub fn node_faults(&self) -> &NodeInjector {
        &self.inner.nodes
    }

    /// The namespaces no run may touch (`--protect-namespace`).
    pub fn protected_namespaces(&self) -> &[String] {
        &self.inner.protected
    }

    /// The namespaces `sel` searches: its own, else the experiment's.
    pub fn namespaces(
        sel: &PodSelector,
        experiment_ns: Option<&str>,
    ) -> Result<Vec<String>, KubeError> {
        if !sel.namespaces.is_empty() {
            return Ok(sel.namespaces.clone());
        }
        match experiment_ns {
            Some(ns) if !ns.is_empty() => Ok(vec![ns.to_string()]),
            _ => Err(KubeError::Selector {
                field: "spec.target.namespaces".into(),
                message: "no namespaces, and the experiment has no metadata.namespace to default to; name the namespaces to search".into(),
            }),
        }
    }

    /// Lists what `sel` matches and checks `guard` against the most the mode could hit,
    /// without choosing: the check made before anything of the run is injected.
    pub async fn check(
        &self,
        sel: &PodSelector,
        experiment_ns: Option<&str>,
        guard: &Guard,
    ) -> Result<usize, KubeError> {
        let (matched, namespaces) = self.matching(sel, experiment_ns, Some(guard)).await?;
        self.check_counts(sel, &namespaces, matched.len(), guard)?;
        Ok(matched.len())
    }

    /// The pods one step hits: matched, guarded, then chosen by the mode.
    pub async fn select(
        &self,
        sel: &PodSelector,
        experiment_ns: Option<&str>,
        guard: &Guard,
    ) -> Result<Selection, KubeError> {
        let (matched, namespaces) = self.matching(sel, experiment_ns, Some(guard)).await?;
        let n = matched.len();
        self.check_counts(sel, &namespaces, n, guard)?;
        Ok(self.pick(sel, matched, &namespaces))
    }

    /// The peer pods of a network fault (NetworkChaos `target`): chosen by their mode, with
    /// no guard, since peers only receive or send the affected traffic — a partition from
    /// CoreDNS in kube-system is a fair experiment.
    pub async fn select_peers(
        &self,
        sel: &PodSelector,
        experiment_ns: Option<&str>,
    ) -> Result<Selection, KubeError> {
        let (matched, namespaces) = self.matching(sel, experiment_ns, None).await?;
        Ok(self.pick(sel, matched, &namespaces))
    }

    fn pick(&self, sel: &PodSelector, matched: Vec<Pod>, namespaces: &[String]) -> Selection {
        let n = matched.len();
        let chosen = {
            let mut rng = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner());
            choose(matched, sel.mode, &mut rng)
        };
        Selection {
            matched: n,
            chosen: chosen.iter().map(pod_target).collect(),
            described: describe(sel, namespaces),
        }
    }

    async fn matching(
        &self,
        sel: &PodSelector,
        experiment_ns: Option<&str>,
        guard: Option<&Guard>,
    ) -> Result<(Vec<Pod>, Vec<String>), KubeError> {
        // Named pods carry their namespaces; the others search the selector's.
        let namespaces = if sel.pods.is_empty() {
            Cluster::namespaces(sel, experiment_ns)?
        } else {
            sel.pods.keys().cloned().collect()
        };
        // Refuse before listing: a protected namespace is never even searched.
        if let Some(guard) = guard {
            for ns in &namespaces {
                self.refuse_protected(ns, guard, None)?;
            }
        }
        let matched = self.inner.resolver.matching(sel, &namespaces).await?;
        if let Some(guard) = guard {
            for p in &matched {
                let ns = p.metadata.namespace.as_deref().unwrap_or_default();
                self.refuse_protected(ns, guard, Some(&pod_key(p)))?;
            }
        }
        if matched.is_empty() {
            return Err(KubeError::NoPodSelected {
                selector: describe(sel, &namespaces),
            });
        }
        Ok((matched, namespaces))
    }

    fn refuse_protected(
        &self,
        ns: &str,
        guard: &Guard,
        pod: Option<&str>,
    ) -> Result<(), KubeError> {
        let by_service = self.inner.protected.iter().any(|p| p == ns);
        let by_spec = guard.protected_namespaces.iter().any(|p| p == ns);
        if !by_service && !by_spec {
            return Ok(());
        }
        let whose = if by_service {
            "the service's --protect-namespace"
        } else {
            "spec.guard.protectedNamespaces"
        };
        Err(KubeError::Guard(match pod {
            None => format!("namespace `{ns}` is protected ({whose})"),
            Some(p) => format!("pod {p} is in protected namespace `{ns}` ({whose})"),
        }))
    }

    fn check_counts(
        &self,
        sel: &PodSelector,
        namespaces: &[String],
        matched: usize,
        guard: &Guard,
    ) -> Result<(), KubeError> {
        let most = max_chosen(sel.mode, matched);
        if let Some(max) = guard.max_targets
            && most > max as usize
        {
            return Err(KubeError::Guard(format!(
                "{} would hit {most} of {matched} matching pods, over spec.guard.maxTargets = {max}",
                describe(sel, namespaces)
            )));
        }
        if let Some(max) = guard.max_percent
            && matched > 0
            && (most as f64) * 100.0 / (matched as f64) > max.value()
        {
            return Err(KubeError::Guard(format!(
                "{} would hit {most} of {matched} matching pods, over spec.guard.maxPercent = {max}",
                describe(sel, namespaces)
            )));
        }
        Ok(())
    }
}
