//! A node step's nodes (cluster mode), resolved into fault requests: nodeCordon, nodeTaint
//! and nodeDrain through the cluster's `NodeFaults` port (one request for all chosen
//! nodes), and zoneOutage as a `networkPartition` of each zone node's own network
//! namespace from every other zone's node addresses, one request per node's agent
//! (`<id>n<k>`), so the agents' leases and journals bound it as any agent fault.

use std::collections::BTreeSet;
use std::time::Duration;

use faultline_agent::faults::FaultId;
use faultline_agent::protocol::ApplyRequest;
use faultline_spec::fault::{NetworkPartition, NetworkScope};
use faultline_spec::{Direction, FaultKind, FaultStep, LocalTarget, NodeFault, Target};

use super::executor::{AnyExecutor, NodeApi, NodeOrder, Order, Remote};
use super::lifecycle::{Planned, Resolved};
use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::ports::{ClusterError, NodeTarget, Taint};
use crate::domain::RunEvent;

/// How long a drain retries refused evictions when `evictionTimeout` is not set.
const DEFAULT_EVICTION_TIMEOUT: Duration = Duration::from_secs(60);
/// The node's own network namespace, as the agent (hostPID) sees it.
const HOST_NETNS: &str = "/proc/1/ns/net";

impl Runner {
    /// The nodes a nodeCordon, nodeTaint or nodeDrain step hits, as one fault request;
    /// `None` when the mode chose none (noted on the run).
    pub(super) async fn resolve_nodes(
        &self,
        f: &FaultStep,
        target: Option<&Target>,
        label: &str,
    ) -> Result<Option<Resolved>, Stop> {
        let step = || label.to_string();
        let cluster = self
            .opts
            .cluster
            .clone()
            .ok_or_else(|| Stop::error(RunError::StepNeedsCluster { step: step() }))?;
        let Some(Target::Kubernetes(sel)) = target else {
            return Err(Stop::error(RunError::NeedsKubernetesTarget {
                step: step(),
                kind: f.fault.name(),
            }));
        };
        if sel.nodes.is_empty() && sel.node_selectors.is_empty() {
            // The experiment's own (pod) target was inherited: validate checks only a
            // step's own.
            return Err(Stop::error(RunError::NodeTarget {
                step: step(),
                message: format!(
                    "{} acts on nodes, and its target has no `nodes` or `nodeSelectors`",
                    f.fault.name()
                ),
            }));
        }
        let order = match &f.fault {
            FaultKind::NodeCordon(_) => NodeOrder::Cordon,
            FaultKind::NodeTaint(t) => NodeOrder::Taint(Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect,
            }),
            FaultKind::NodeDrain(d) => NodeOrder::Drain {
                grace_seconds: d
                    .grace_period
                    .map(|g| u32::try_from(g.std().as_secs()).unwrap_or(u32::MAX)),
                // Never past the step's own bound: a drain's retries are part of its
                // duration, not added to it.
                retry_for: d
                    .eviction_timeout
                    .map_or(DEFAULT_EVICTION_TIMEOUT, |t| t.std())
                    .min(f.duration.map_or(Duration::MAX, |d| d.std())),
                protected: self.exp.spec.guard.protected_namespaces.clone(),
            },
            other => {
                return Err(Stop::error(RunError::NoKubernetesImplementation {
                    step: step(),
                    kind: other.name().to_string(),
                }));
            }
        };
        let port = cluster.nodes().ok_or_else(|| {
            Stop::error(RunError::NoKubernetesImplementation {
                step: step(),
                kind: f.fault.name().to_string(),
            })
        })?;
        let selection = port.select(sel, &self.exp.spec.guard).await.map_err(|e| {
            Stop::error(RunError::Cluster {
                step: step(),
                source: e.into(),
            })
        })?;
        if selection.chosen.is_empty() {
            self.record(RunEvent::Note {
                message: format!(
                    "step {label}: mode {} chose none of the {} {}",
                    sel.mode, selection.matched, selection.described
                ),
            })?;
            return Ok(None);
        }
        let id = self.next_fault_id();
        let names: Vec<String> = selection.chosen.iter().map(|n| n.name.clone()).collect();
        let exec = NodeApi::new(cluster.clone(), &id, &names);
        Ok(Some(Resolved {
            kind: f.fault.name(),
            instant: false,
            planned: vec![Planned {
                id,
                exec: AnyExecutor::Nodes(exec),
                order: Order::OnNodes {
                    order,
                    lease: self.opts.lease,
                },
                targets: selection.chosen.iter().map(NodeTarget::label).collect(),
                undone_on_failure: false,
            }],
        }))
    }

    /// A zoneOutage: every node of the zone, through its agent, partitioned (both ways)
    /// from the addresses of every node of the other zones.
    pub(super) async fn resolve_zone(
        &self,
        f: &FaultStep,
        label: &str,
    ) -> Result<Option<Resolved>, Stop> {
        let step = || label.to_string();
        let FaultKind::ZoneOutage(z) = &f.fault else {
            return Err(Stop::error(RunError::NoKubernetesImplementation {
                step: step(),
                kind: f.fault.name().to_string(),
            }));
        };
        let cluster = self
            .opts
            .cluster
            .clone()
            .ok_or_else(|| Stop::error(RunError::StepNeedsCluster { step: step() }))?;
        let fail = |source: ClusterError| {
            Stop::error(RunError::Cluster {
                step: step(),
                source,
            })
        };
        let port = cluster.nodes().ok_or_else(|| {
            Stop::error(RunError::NoKubernetesImplementation {
                step: step(),
                kind: f.fault.name().to_string(),
            })
        })?;
        let zones = port
            .zone(&z.label.0, &z.zone, &self.exp.spec.guard)
            .await
            .map_err(|e| fail(e.into()))?;
        let mut peers: Vec<ipnet::IpNet> = Vec::new();
        for ip in zones.outside.iter().flat_map(|n| n.addresses.iter()) {
            let net = ipnet::IpNet::from(*ip);
            if !peers.contains(&net) {
                peers.push(net);
            }
        }
        if peers.is_empty() {
            // No peers would make the partition cut everything: never that.
            return Err(Stop::error(RunError::NodeTarget {
                step: step(),
                message: format!(
                    "zoneOutage: no node of another zone than {}={} has an address to cut off ({} other nodes)",
                    z.label,
                    z.zone,
                    zones.outside.len()
                ),
            }));
        }
        let kind = NodeFault::NetworkPartition(NetworkPartition {
            scope: NetworkScope {
                direction: Direction::Both,
                peers,
                ..NetworkScope::default()
            },
        });
        let names: BTreeSet<String> = zones.inside.iter().map(|n| n.name.clone()).collect();
        let agents = cluster.agents().for_nodes(&names).await.map_err(fail)?;
        let id = self.next_fault_id();
        let mut planned = Vec::new();
        for (k, node) in names.into_iter().enumerate() {
            let Some(agent) = agents.get(&node) else {
                continue;
            };
            let req_id = FaultId::new(format!("{id}n{k}")).map_err(|reason| {
                Stop::error(RunError::FaultId {
                    step: step(),
                    reason,
                })
            })?;
            let who = format!("agent {} ({}) on node {node}", agent.pod, agent.url);
            let target = format!("node {node}");
            planned.push(Planned {
                order: Order::Node {
                    req: Box::new(ApplyRequest {
                        id: req_id.clone(),
                        kind: kind.clone(),
                        targets: vec![LocalTarget::Netns(HOST_NETNS.into())],
                        lease_seconds: self.opts.lease.as_secs().max(1),
                    }),
                    labels: vec![Some(target.clone())],
                },
                id: req_id,
                exec: AnyExecutor::Remote(Remote::on_node(
                    agent.client.clone(),
                    agent.url.clone(),
                    node,
                    who,
                )),
                targets: vec![target],
                undone_on_failure: false,
            });
        }
        Ok(Some(Resolved {
            kind: f.fault.name(),
            instant: false,
            planned,
        }))
    }
}
