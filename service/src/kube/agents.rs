//! Finds the node agent of each node: agents are a DaemonSet, so the agent of node N is
//! the ready pod with the agent label (`--agent-selector`) in the agent namespace whose
//! `spec.nodeName` is N; the service talks to it on its pod IP and `--agent-port`, with the
//! token from `--agent-token-file`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ::kube::api::{Api, ListParams};
use faultline_agent::client::AgentClient;
use faultline_agent::tls::ClientTls;
use k8s_openapi::api::core::v1::Pod;

use super::error::KubeError;
use super::resolve::Resolver;
use crate::application::ports::{DiscoveredAgent, NodeAgent};

/// Where the agents run and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSettings {
    /// Namespace of the agent DaemonSet.
    pub namespace: String,
    /// Label selector of the agent pods.
    pub selector: String,
    /// Port the agents listen on.
    pub port: u16,
    /// Bearer token for the agents.
    pub token: Option<String>,
}

/// Looks agents up through the API.
#[derive(Clone)]
pub struct AgentDirectory {
    resolver: Resolver,
    settings: AgentSettings,
    tls: Option<ClientTls>,
}

impl AgentDirectory {
    /// A directory listing agents with `resolver`'s client.
    pub fn new(resolver: Resolver, settings: AgentSettings) -> AgentDirectory {
        AgentDirectory {
            resolver,
            settings,
            tls: None,
        }
    }

    /// Agents reached over HTTPS, checked with `tls` (`None`: plain HTTP).
    pub fn with_tls(self, tls: Option<ClientTls>) -> AgentDirectory {
        AgentDirectory { tls, ..self }
    }

    /// The agents' TLS settings, if they are reached over HTTPS.
    pub fn tls(&self) -> Option<&ClientTls> {
        self.tls.as_ref()
    }

    /// The agent of every node in `nodes`: one list of the agent pods (paginated), not
    /// one call per node, so a step over 10,000 pods on 500 nodes costs one request. A
    /// node without a ready agent is an error naming the node and what was found there.
    pub async fn for_nodes(
        &self,
        nodes: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, NodeAgent>, KubeError> {
        let s = &self.settings;
        let agents = self.list().await?;
        let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
        for a in &agents {
            if let Some(node) = a.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
                by_node.entry(node).or_default().push(a);
            }
        }
        let mut out = BTreeMap::new();
        for node in nodes {
            let found = by_node
                .get(node.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let Some((pod, ip)) = found.iter().find_map(|p| ready_ip(p).map(|ip| (*p, ip))) else {
                let what = if found.is_empty() {
                    format!(
                        "no agent pod ({}) in namespace {} runs on this node; is the DaemonSet scheduled there (taints, nodeSelector)?",
                        s.selector, s.namespace
                    )
                } else {
                    let names: Vec<String> =
                        found.iter().map(|p| super::select::pod_key(p)).collect();
                    format!("agent pod {} is not ready", names.join(", "))
                };
                return Err(KubeError::NoAgent {
                    target: format!("node {node}"),
                    message: what,
                });
            };
            let (url, client) = self.client(ip)?;
            out.insert(
                node.clone(),
                NodeAgent {
                    pod: super::select::pod_key(pod),
                    url,
                    client,
                },
            );
        }
        Ok(out)
    }
}

impl AgentDirectory {
    /// The settings (the probe builds one client with its token for every agent).
    pub fn settings(&self) -> &AgentSettings {
        &self.settings
    }

    /// Every agent pod (the DaemonSet's, by its label), ready or not: one paginated list.
    pub async fn discover(&self) -> Result<Vec<DiscoveredAgent>, KubeError> {
        let mut out = Vec::new();
        for p in self.list().await? {
            out.push(DiscoveredAgent {
                pod: super::select::pod_key(&p),
                url: ready_ip(&p).map(|ip| self.url(ip)),
                node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
            });
        }
        Ok(out)
    }

    async fn list(&self) -> Result<Vec<Pod>, KubeError> {
        let s = &self.settings;
        let api: Api<Pod> = Api::namespaced(self.resolver.client().clone(), &s.namespace);
        let lp = ListParams::default().labels(&s.selector);
        self.resolver
            .list_all(
                &api,
                lp,
                &format!("namespace {} (agents: {})", s.namespace, s.selector),
            )
            .await
    }

    /// The URL of the agent on `ip`.
    fn url(&self, ip: IpAddr) -> String {
        let port = self.settings.port;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        match ip {
            IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}"),
            IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}"),
        }
    }

    /// The URL of the agent on `ip` and a client for it.
    fn client(&self, ip: IpAddr) -> Result<(String, AgentClient), KubeError> {
        let s = &self.settings;
        let url = self.url(ip);
        let client = AgentClient::with_tls(url.clone(), s.token.clone(), self.tls.as_ref())
            .map_err(|source| KubeError::AgentClient {
                url: url.clone(),
                source,
            })?;
        Ok((url, client))
    }
}

/// The pod IP of a running agent pod whose `Ready` condition is true.
fn ready_ip(p: &Pod) -> Option<IpAddr> {
    let st = p.status.as_ref()?;
    if st.phase.as_deref() != Some("Running") {
        return None;
    }
    let ready = st
        .conditions
        .as_ref()?
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if !ready {
        return None;
    }
    st.pod_ip.as_deref()?.parse().ok()
}
