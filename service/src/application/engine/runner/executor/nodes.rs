//! Node faults through the Kubernetes API, by the cluster's `NodeFaults` port: nodeCordon
//! and nodeTaint change each node with its record (an annotation with a lease of its own,
//! renewed while the run lives, restored on recovery or by the leader's sweep once it
//! lapses); nodeDrain cordons, then evicts the node's pods. Each evicted pod is a hit that
//! finishes at once (`evicted`), like a podKill; a pod a PodDisruptionBudget still refused
//! at the bound is a hit that finishes `blocked`, its target naming the budget. Recovery
//! uncordons and untaints; evicted pods are not brought back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_agent::faults::FaultId;
use faultline_exporter::TraceParent;

use super::seam::{Applied, ExecError, Executor, Hit, NodeOrder, Order, Recovered, Seen, expiry};
use crate::application::engine::inject::KUBERNETES_API;
use crate::application::ports::{
    ClusterError, EvictionOutcome, NodeFaults, NodeState, PodCluster, Taint,
};
use crate::domain::ExecutorRef;

/// How long a node fault's record holds without renewal: as podFailure's, four agent
/// leases and at least two minutes (renewing costs an API write per node).
fn node_lease(lease: Duration) -> Duration {
    (lease * 4).max(Duration::from_secs(120))
}

/// One node of a node fault.
#[derive(Clone)]
struct FaultedNode {
    name: String,
    /// The event id (`<fault>-<n>`).
    event: String,
    /// When its record expires, once the change is made.
    expires: Option<DateTime<Utc>>,
}

/// Nodes, and the cluster that changes them. Clones share the nodes' records.
#[derive(Clone)]
pub(crate) struct NodeApi {
    cluster: Arc<dyn PodCluster>,
    nodes: Arc<Mutex<Vec<FaultedNode>>>,
    /// Rebuilt from the store after a restart: every node's restore is reported.
    adopted: bool,
}

impl NodeApi {
    /// Nodes `names` of fault request `id`, their events `<id>-<n>`.
    pub(crate) fn new(cluster: Arc<dyn PodCluster>, id: &FaultId, names: &[String]) -> NodeApi {
        let nodes = names
            .iter()
            .enumerate()
            .map(|(n, name)| FaultedNode {
                name: name.clone(),
                event: format!("{id}-{n}"),
                expires: None,
            })
            .collect();
        NodeApi {
            cluster,
            nodes: Arc::new(Mutex::new(nodes)),
            adopted: false,
        }
    }

    /// The nodes of fault request `id`, as the store recorded them.
    pub(crate) fn adopt(cluster: Arc<dyn PodCluster>, id: &FaultId, names: &[String]) -> NodeApi {
        NodeApi {
            adopted: true,
            ..NodeApi::new(cluster, id, names)
        }
    }

    fn port(&self) -> Result<&dyn NodeFaults, ExecError> {
        self.cluster.nodes().ok_or(ExecError::NoCluster)
    }

    fn snapshot(&self) -> Vec<FaultedNode> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn keep(&self, nodes: Vec<FaultedNode>) {
        *self.nodes.lock().unwrap_or_else(|p| p.into_inner()) = nodes;
    }

    /// One node after another: a drain of many nodes at once is what PodDisruptionBudgets
    /// exist to prevent, and the API calls stay in a known order.
    async fn apply_nodes(&self, id: &FaultId, order: &NodeOrder, lease: Duration) -> Applied {
        let port = match self.port() {
            Ok(p) => p,
            Err(e) => return Applied::from_result(Err(e)),
        };
        let fault = id.to_string();
        let change = order.change();
        let mut nodes = self.snapshot();
        let mut hits = Vec::new();
        let mut error = None;
        for (k, fn_) in nodes.iter_mut().enumerate() {
            let expires = expiry(node_lease(lease));
            if let Err(e) = port.apply(&fn_.name, &change, &fault, expires).await {
                error = Some(ClusterError::from(e).into());
                break;
            }
            fn_.expires = Some(expires);
            hits.push(Hit {
                fault: fn_.event.clone(),
                target: format!("node {}", fn_.name),
                node: Some(fn_.name.clone()),
                finished: None,
            });
            let NodeOrder::Drain {
                grace_seconds,
                retry_for,
                protected,
            } = order
            else {
                continue;
            };
            match port
                .evict_all(&fn_.name, *grace_seconds, *retry_for, protected)
                .await
            {
                Ok(evictions) => {
                    let mut i = 0;
                    for ev in evictions {
                        let (target, outcome) = match ev.outcome {
                            EvictionOutcome::Evicted => (format!("pod {}", ev.pod), "evicted"),
                            EvictionOutcome::Gone => (format!("pod {}", ev.pod), "alreadyGone"),
                            EvictionOutcome::Skipped(_) => continue,
                            EvictionOutcome::Blocked { budget, .. } => (
                                match budget {
                                    Some(b) => format!("pod {} (PodDisruptionBudget {b})", ev.pod),
                                    None => format!("pod {} (a PodDisruptionBudget)", ev.pod),
                                },
                                "blocked",
                            ),
                        };
                        hits.push(Hit {
                            fault: format!("{id}-{k}e{i}"),
                            target,
                            node: Some(fn_.name.clone()),
                            finished: Some(outcome.into()),
                        });
                        i += 1;
                    }
                }
                Err(e) => {
                    error = Some(ClusterError::from(e).into());
                    break;
                }
            }
        }
        self.keep(nodes);
        Applied { hits, error }
    }
}

impl Executor for NodeApi {
    fn agent(&self) -> String {
        KUBERNETES_API.to_string()
    }

    fn reference(&self) -> ExecutorRef {
        ExecutorRef::Nodes {
            nodes: self.snapshot().into_iter().map(|n| n.name).collect(),
        }
    }

    fn lease(&self, lease: Duration) -> Duration {
        node_lease(lease)
    }

    async fn apply(&self, id: &FaultId, order: &Order, _: Option<&TraceParent>) -> Applied {
        match order {
            Order::OnNodes { order, lease } => self.apply_nodes(id, order, *lease).await,
            other => Applied::from_result(Err(ExecError::Unsupported {
                executor: KUBERNETES_API,
                order: other.name(),
            })),
        }
    }

    /// One PATCH per node, only once half its record's lease is gone.
    async fn renew(
        &self,
        id: &FaultId,
        lease: Duration,
        _: Option<&TraceParent>,
    ) -> Result<Option<DateTime<Utc>>, ExecError> {
        let port = self.port()?;
        let node_lease = node_lease(lease);
        let due = Utc::now() + chrono::Duration::from_std(node_lease / 2).unwrap_or_default();
        let mut nodes = self.snapshot();
        let mut changed = false;
        for n in nodes.iter_mut() {
            let Some(exp) = n.expires.as_mut().filter(|e| **e <= due) else {
                continue;
            };
            let next = expiry(node_lease);
            port.renew(&n.name, id.as_str(), next)
                .await
                .map_err(ClusterError::from)?;
            *exp = next;
            changed = true;
        }
        if !changed {
            return Ok(None);
        }
        self.keep(nodes.clone());
        Ok(nodes.iter().filter_map(|n| n.expires).min())
    }

    /// Reads each node back: cordoned (`spec.unschedulable`) or carrying the taint.
    async fn observe(
        &self,
        _: &FaultId,
        order: &Order,
        _: Option<&TraceParent>,
    ) -> Result<Option<Vec<Seen>>, ExecError> {
        let Order::OnNodes { order, .. } = order else {
            return Ok(None);
        };
        let port = self.port()?;
        let mut seen = Vec::new();
        for n in self.snapshot() {
            let target = format!("node {}", n.name);
            let state = port.read(&n.name).await.map_err(ClusterError::from)?;
            let (effective, evidence) = match state {
                None => (false, "the node is gone".to_string()),
                Some(s) => effect_seen(order, &s),
            };
            seen.push(Seen {
                target,
                effective,
                evidence,
            });
        }
        Ok(Some(seen))
    }

    async fn recover(
        &self,
        id: &FaultId,
        _: Option<&TraceParent>,
    ) -> Result<Vec<Recovered>, ExecError> {
        let port = self.port()?;
        let mut out = Vec::new();
        let mut errors: Vec<ClusterError> = Vec::new();
        for n in self.snapshot() {
            match port.restore(&n.name, Some(id.as_str())).await {
                // A node never changed (the apply stopped before it) is no event.
                Ok(r) if n.expires.is_some() || self.adopted => {
                    out.push((n.event.clone(), r.outcome().to_string()))
                }
                Ok(_) => {}
                Err(e) => errors.push(ClusterError::from(e)),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ExecError::Restore(errors))
        }
    }
}

/// Whether `state` shows `order` in effect, and what was read.
fn effect_seen(order: &NodeOrder, state: &NodeState) -> (bool, String) {
    match order {
        NodeOrder::Cordon | NodeOrder::Drain { .. } => (
            state.unschedulable,
            format!("spec.unschedulable = {}", state.unschedulable),
        ),
        NodeOrder::Taint(t) => {
            let has = state.taints.iter().any(|h| h == t);
            let taints: Vec<String> = state.taints.iter().map(Taint::to_string).collect();
            (
                has,
                format!(
                    "taint {t} {}; spec.taints = [{}]",
                    if has { "present" } else { "absent" },
                    taints.join(", ")
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::agents::AgentSettings;
    use crate::kube::{Cluster, ClusterConfig};
    use http::{Request, Response};
    use kube::client::Body;

    #[test]
    fn a_node_record_outlasts_the_agent_lease() {
        assert_eq!(
            node_lease(Duration::from_secs(30)),
            Duration::from_secs(120)
        );
        assert_eq!(
            node_lease(Duration::from_secs(60)),
            Duration::from_secs(240)
        );
    }

    #[tokio::test]
    async fn only_nodes_past_half_their_lease_are_renewed_with_the_fault_s_own_record() {
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let cluster = Cluster::new(
            kube::Client::new(svc, "default"),
            ClusterConfig::new(AgentSettings {
                namespace: "faultline".into(),
                selector: "app=agent".into(),
                port: 7150,
                token: None,
            }),
        );
        let server = tokio::spawn(async move {
            let record = serde_json::json!({ "fault": "run1-f1", "expires": "2026-12-01T09:00:00Z", "wasUnschedulable": false });
            let node = serde_json::json!({ "apiVersion": "v1", "kind": "Node",
                "metadata": { "name": "due", "annotations": { "faultline.dev/cordon": record.to_string() } },
                "spec": { "unschedulable": true } });
            let (req, send) = handle
                .next_request()
                .await
                .expect("the renewal reads the node");
            assert_eq!(req.method(), http::Method::GET);
            assert_eq!(req.uri().path(), "/api/v1/nodes/due");
            send.send_response(Response::new(Body::from(
                serde_json::to_vec(&node).unwrap(),
            )));
            let (req, send) = handle.next_request().await.expect("and moves its lease");
            assert_eq!(req.method(), http::Method::PATCH);
            let body: serde_json::Value =
                serde_json::from_slice(&req.into_body().collect_bytes().await.unwrap()).unwrap();
            let text = body["metadata"]["annotations"]["faultline.dev/cordon"]
                .as_str()
                .unwrap()
                .to_string();
            let rec: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(rec["fault"], "run1-f1");
            assert_eq!(
                rec["wasUnschedulable"], false,
                "the rest of the record kept"
            );
            assert!(
                body.get("spec").is_none(),
                "a renewal changes only the record"
            );
            send.send_response(Response::new(Body::from(
                serde_json::to_vec(&node).unwrap(),
            )));
            // No call for the node with 110 s left.
            assert!(handle.next_request().await.is_none());
        });
        let id = FaultId::new("run1-f1").unwrap();
        let exec = NodeApi::new(Arc::new(cluster), &id, &["due".into(), "fresh".into()]);
        {
            let mut nodes = exec.nodes.lock().unwrap();
            nodes[0].expires = Some(Utc::now() + chrono::Duration::seconds(10));
            nodes[1].expires = Some(Utc::now() + chrono::Duration::seconds(110));
        }
        let next = exec
            .renew(&id, Duration::from_secs(30), None)
            .await
            .unwrap()
            .expect("a renewal moves an expiry");
        let nodes = exec.snapshot();
        drop(exec);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        let left = |i: usize| (nodes[i].expires.unwrap() - Utc::now()).num_seconds();
        assert!(
            (115..=120).contains(&left(0)),
            "renewed to 120 s, got {}",
            left(0)
        );
        assert!((105..=110).contains(&left(1)), "untouched, got {}", left(1));
        assert!(
            (next - Utc::now()).num_seconds() <= 110,
            "the earliest expiry"
        );
    }
}
