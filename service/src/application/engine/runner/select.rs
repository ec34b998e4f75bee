//! A step's pods (cluster mode), resolved into fault requests: podKill and podFailure
//! through the Kubernetes API, every other kind to the agent of each chosen pod's node,
//! one request per node (`<id>n<k>`) with the pods' container IDs as targets. A network
//! fault's `peerSelector` is resolved to the peer pods' IPs first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use faultline_agent::faults::FaultId;
use faultline_agent::protocol::ApplyRequest;
use faultline_spec::{FaultKind, FaultStep, LocalTarget, NodeFault, PodSelector};

use super::executor::{AnyExecutor, Kubernetes, Order, Remote};
use super::lifecycle::{Planned, Resolved};
use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::ports::{ClusterError, PodCluster, PodTarget};
use crate::domain::RunEvent;

impl Runner {
    pub(super) fn namespace(&self) -> Option<&str> {
        self.exp.metadata.namespace.as_deref()
    }

    /// The pods one step hits, as fault requests; `None` when the mode chose none (noted
    /// on the run).
    pub(super) async fn resolve_pods(
        &self,
        f: &FaultStep,
        sel: &PodSelector,
        label: &str,
    ) -> Result<Option<Resolved>, Stop> {
        let cluster = self.opts.cluster.clone().ok_or_else(|| {
            Stop::error(RunError::StepNeedsCluster {
                step: label.to_string(),
            })
        })?;
        let fail = |source: ClusterError| {
            Stop::error(RunError::Cluster {
                step: label.to_string(),
                source,
            })
        };
        let selection = cluster
            .select(sel, self.namespace(), &self.exp.spec.guard)
            .await
            .map_err(fail)?;
        if selection.chosen.is_empty() {
            self.record(RunEvent::Note {
                message: format!(
                    "step {label}: mode {} chose none of the {} pods matching {}",
                    sel.mode, selection.matched, selection.described
                ),
            })?;
            return Ok(None);
        }
        let id = self.next_fault_id();
        let pods = selection.chosen;
        let on_pods = |order: Order| {
            let targets = pods.iter().map(PodTarget::label).collect();
            let exec = Kubernetes::new(cluster.clone(), &id, pods.clone(), self.opts.lease);
            vec![Planned {
                id: id.clone(),
                exec: AnyExecutor::Kubernetes(exec),
                order,
                targets,
                undone_on_failure: false,
            }]
        };
        let planned = match (&f.fault, f.fault.to_node()) {
            (FaultKind::PodKill(k), _) => on_pods(Order::PodKill {
                grace_seconds: k
                    .grace_period
                    .map(|d| u32::try_from(d.std().as_secs()).unwrap_or(u32::MAX)),
            }),
            (FaultKind::PodFailure(p), _) => on_pods(Order::PodFailure {
                containers: p.container_names.clone(),
            }),
            (_, Some(kind)) => {
                let kind = self.resolve_peers(cluster.as_ref(), kind, label).await?;
                let kind = self.resolve_hosts(kind, label).await?;
                self.plan_on_agents(&cluster, &id, &kind, &pods, label)
                    .await?
            }
            (kind, None) => {
                return Err(Stop::error(RunError::NoKubernetesImplementation {
                    step: label.to_string(),
                    kind: kind.name().to_string(),
                }));
            }
        };
        Ok(Some(Resolved {
            kind: f.fault.name(),
            instant: f.fault.is_instant(),
            planned,
        }))
    }

    /// A network fault's `peerSelector` (NetworkChaos `target`) resolved to the peer pods'
    /// IPs, added to `peers`: the agent only knows addresses. A selector that yields no IP
    /// is an error — for a partition, no peers would mean all traffic.
    async fn resolve_peers(
        &self,
        cluster: &dyn PodCluster,
        mut kind: NodeFault,
        label: &str,
    ) -> Result<NodeFault, Stop> {
        let Some(scope) = kind.scope_mut() else {
            return Ok(kind);
        };
        let Some(sel) = scope.peer_selector.take() else {
            return Ok(kind);
        };
        let peers = cluster
            .select_peers(&sel, self.namespace())
            .await
            .map_err(|source| {
                Stop::error(RunError::PeerSelector {
                    step: label.to_string(),
                    source,
                })
            })?;
        let ips: Vec<ipnet::IpNet> = peers
            .chosen
            .iter()
            .flat_map(|p| p.ips.iter().copied().map(ipnet::IpNet::from))
            .collect();
        if ips.is_empty() {
            return Err(Stop::error(RunError::PeersWithoutIp {
                step: label.to_string(),
                chosen: peers.chosen.len(),
                described: peers.described,
            }));
        }
        for ip in ips {
            if !scope.peers.contains(&ip) {
                scope.peers.push(ip);
            }
        }
        Ok(kind)
    }

    /// `kind` for the agent of every node the pods run on, one request per node
    /// (`<id>n<k>`), targets being the pods' container IDs.
    async fn plan_on_agents(
        &self,
        cluster: &Arc<dyn PodCluster>,
        id: &FaultId,
        kind: &NodeFault,
        pods: &[PodTarget],
        label: &str,
    ) -> Result<Vec<Planned>, Stop> {
        let fail = |source: ClusterError| {
            Stop::error(RunError::Cluster {
                step: label.to_string(),
                source,
            })
        };
        let mut by_node: BTreeMap<String, Vec<(LocalTarget, &PodTarget)>> = BTreeMap::new();
        for p in pods {
            let node = p.node.clone().ok_or_else(|| {
                fail(ClusterError::NoAgent {
                    target: p.label(),
                    message: "not scheduled on a node yet".into(),
                })
            })?;
            for t in p.agent_targets(kind).map_err(fail)? {
                by_node.entry(node.clone()).or_default().push((t, p));
            }
        }
        let nodes: BTreeSet<String> = by_node.keys().cloned().collect();
        let agents = cluster.agents().for_nodes(&nodes).await.map_err(fail)?;
        let mut planned = Vec::new();
        for (k, (node, targets)) in by_node.into_iter().enumerate() {
            let Some(agent) = agents.get(&node) else {
                continue;
            };
            let req_id = FaultId::new(format!("{id}n{k}")).map_err(|reason| {
                Stop::error(RunError::FaultId {
                    step: label.to_string(),
                    reason,
                })
            })?;
            let who = format!("agent {} ({}) on node {node}", agent.pod, agent.url);
            let labels: Vec<String> = targets.iter().map(|(_, p)| p.label()).collect();
            planned.push(Planned {
                order: Order::Node {
                    req: Box::new(ApplyRequest {
                        id: req_id.clone(),
                        kind: kind.clone(),
                        targets: targets.into_iter().map(|(t, _)| t).collect(),
                        lease_seconds: self.opts.lease.as_secs().max(1),
                    }),
                    labels: labels.iter().cloned().map(Some).collect(),
                },
                id: req_id,
                exec: AnyExecutor::Remote(Remote::on_node(
                    agent.client.clone(),
                    agent.url.clone(),
                    node,
                    who,
                )),
                targets: labels,
                undone_on_failure: false,
            });
        }
        Ok(planned)
    }
}
