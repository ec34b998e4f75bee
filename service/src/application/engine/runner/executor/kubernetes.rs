//! The Kubernetes API, through the application's cluster port: podKill deletes pods,
//! podFailure swaps their images for a pause image and keeps the originals in an
//! annotation with a lease of its own, renewed while the run lives and restored on
//! recovery (or by any replica's sweep once it lapses). Both are read back after the apply
//! (`pod_observe.rs` judges what the API server shows).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_agent::agent::error_chain;
use faultline_agent::faults::FaultId;
use faultline_exporter::TraceParent;
use futures::StreamExt;

use super::pod_observe::{failure_seen, kill_seen, with_replacement};
use super::seam::{Applied, ExecError, Executor, Hit, Order, Recovered, Seen, expiry};
use crate::application::engine::inject::KUBERNETES_API;
use crate::application::ports::{
    ClusterError, Killed, OriginalImages, PodCluster, PodRead, PodTarget,
};
use crate::domain::ExecutorRef;

/// How many pods are deleted or patched at once; the client's rate limit paces them.
const POD_CONCURRENCY: usize = 16;

/// How long a podFailure annotation holds without renewal: longer than an agent lease
/// (`lease`), because renewing costs an API write per pod; at least two minutes. It bounds
/// how long a pod stays failed after the service that failed it died for good.
fn pod_failure_lease(lease: Duration) -> Duration {
    (lease * 4).max(Duration::from_secs(120))
}

/// One pod of a pod fault.
#[derive(Clone)]
struct FailedPod {
    pub(crate) pod: PodTarget,
    /// The event id (`<fault>-<n>`).
    pub(crate) event: String,
    /// What the annotation holds, once patched (renewals rewrite its expiry).
    pub(crate) record: Option<OriginalImages>,
    /// podKill: when the delete was accepted (or found the pod gone).
    pub(crate) killed_at: Option<DateTime<Utc>>,
}

/// Pods, and the cluster that deletes or fails them. Clones share the pods' records, so
/// the run's list of active faults sees what an apply patched and a renewal moved.
#[derive(Clone)]
pub(crate) struct Kubernetes {
    cluster: Arc<dyn PodCluster>,
    pods: Arc<Mutex<Vec<FailedPod>>>,
    /// The agent lease the run renews with (podFailure's own is longer).
    lease: Duration,
    /// Rebuilt from the store after a restart: which pods were patched is not known, so
    /// every pod's restore is reported.
    adopted: bool,
}

impl Kubernetes {
    /// `pods` of fault request `id`, their events `<id>-<n>`.
    pub(crate) fn new(
        cluster: Arc<dyn PodCluster>,
        id: &FaultId,
        pods: Vec<PodTarget>,
        lease: Duration,
    ) -> Kubernetes {
        let pods = pods
            .into_iter()
            .enumerate()
            .map(|(n, pod)| FailedPod {
                pod,
                event: format!("{id}-{n}"),
                record: None,
                killed_at: None,
            })
            .collect();
        Kubernetes {
            cluster,
            pods: Arc::new(Mutex::new(pods)),
            lease,
            adopted: false,
        }
    }

    /// The pods `NS/NAME` of fault request `id`, as the store recorded them.
    pub(crate) fn adopt(cluster: Arc<dyn PodCluster>, id: &FaultId, keys: &[String]) -> Kubernetes {
        let pods = keys
            .iter()
            .map(|k| {
                let (namespace, name) = k.split_once('/').unwrap_or(("", k));
                PodTarget {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    node: None,
                    containers: Vec::new(),
                    ips: Vec::new(),
                    uid: None,
                    owner: None,
                }
            })
            .collect();
        Kubernetes {
            adopted: true,
            ..Kubernetes::new(cluster, id, pods, Duration::ZERO)
        }
    }

    fn snapshot(&self) -> Vec<FailedPod> {
        self.pods.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn keep(&self, pods: Vec<FailedPod>) {
        *self.pods.lock().unwrap_or_else(|p| p.into_inner()) = pods;
    }

    async fn kill(&self, grace: Option<u32>) -> Applied {
        let mut pods = self.snapshot();
        let started = Utc::now();
        // The futures are built before they go into the stream: a closure returning a
        // borrowing future inside `buffered` defeats the Send inference of the step future.
        let kills: Vec<_> = pods
            .iter()
            .map(|p| self.cluster.kill_pod(&p.pod.namespace, &p.pod.name, grace))
            .collect();
        let results: Vec<_> = futures::stream::iter(kills)
            .buffered(POD_CONCURRENCY)
            .collect()
            .await;
        let mut applied = Applied {
            hits: Vec::new(),
            error: None,
        };
        for (p, result) in pods.iter_mut().zip(results) {
            match result {
                Ok(killed) => {
                    p.killed_at = Some(started);
                    applied.hits.push(Hit {
                        fault: p.event.clone(),
                        target: p.pod.label(),
                        node: p.pod.node.clone(),
                        finished: Some(
                            match killed {
                                Killed::Deleted => "instant",
                                Killed::AlreadyGone => "alreadyGone",
                            }
                            .into(),
                        ),
                    })
                }
                Err(e) => {
                    applied.error.get_or_insert(e.into());
                }
            }
        }
        self.keep(pods);
        applied
    }

    /// The pods of the snapshot that `which` picks, each read back from the API (at most
    /// [`POD_CONCURRENCY`] reads at a time), the reads in the pods' order.
    async fn read_back(
        &self,
        which: impl Fn(&FailedPod) -> bool,
    ) -> (Vec<FailedPod>, Vec<Result<Option<PodRead>, ClusterError>>) {
        let pods: Vec<FailedPod> = self.snapshot().into_iter().filter(which).collect();
        let reads: Vec<_> = pods
            .iter()
            .map(|fp| self.cluster.read_pod(&fp.pod.namespace, &fp.pod.name))
            .collect();
        let reads = futures::stream::iter(reads)
            .buffered(POD_CONCURRENCY)
            .collect()
            .await;
        (pods, reads)
    }

    /// Each killed pod read back: gone or terminating, and its controller's replacement.
    async fn observe_kill(&self) -> Result<Vec<Seen>, ExecError> {
        let (pods, reads) = self.read_back(|fp| fp.killed_at.is_some()).await;
        let mut out = Vec::with_capacity(pods.len());
        for (fp, read) in pods.iter().zip(reads) {
            let seen = kill_seen(&fp.pod, read?.as_ref());
            out.push(match (&fp.pod.owner, fp.killed_at) {
                (Some(owner), Some(at)) if seen.effective => {
                    let owned = self.cluster.owned_pods(&fp.pod.namespace, owner).await;
                    let owned = owned.as_deref().map_err(|e| error_chain(e));
                    with_replacement(seen, &fp.pod, owner, at, owned)
                }
                _ => seen,
            });
        }
        Ok(out)
    }

    /// Each failed pod read back: its swapped containers name the pause image.
    async fn observe_failure(&self) -> Result<Vec<Seen>, ExecError> {
        let (pods, reads) = self.read_back(|fp| fp.record.is_some()).await;
        let pause = self.cluster.pod_failure().pause_image().to_string();
        let mut out = Vec::with_capacity(pods.len());
        for (fp, read) in pods.iter().zip(reads) {
            let swapped: Vec<String> = fp
                .record
                .as_ref()
                .map(|r| r.containers.keys().cloned().collect())
                .unwrap_or_default();
            out.push(failure_seen(&fp.pod, &swapped, &pause, read?.as_ref()));
        }
        Ok(out)
    }

    async fn fail(&self, id: &FaultId, containers: &[String]) -> Applied {
        let expires = expiry(pod_failure_lease(self.lease));
        let mut pods = self.snapshot();
        let fault = id.to_string();
        let failures = self.cluster.pod_failure();
        let patches: Vec<_> = pods
            .iter()
            .map(|fp| failures.fail(&fp.pod.namespace, &fp.pod.name, containers, &fault, expires))
            .collect();
        let results: Vec<_> = futures::stream::iter(patches)
            .buffered(POD_CONCURRENCY)
            .collect()
            .await;
        let mut error = None;
        for (fp, r) in pods.iter_mut().zip(results) {
            match r {
                Ok(record) => fp.record = Some(record),
                Err(e) => {
                    error.get_or_insert(e.into());
                }
            }
        }
        self.keep(pods.clone());
        let hits = pods
            .iter()
            .filter(|fp| fp.record.is_some())
            .map(|fp| Hit {
                fault: fp.event.clone(),
                target: fp.pod.label(),
                node: fp.pod.node.clone(),
                finished: None,
            })
            .collect();
        Applied { hits, error }
    }
}

impl Executor for Kubernetes {
    fn agent(&self) -> String {
        KUBERNETES_API.to_string()
    }

    fn reference(&self) -> ExecutorRef {
        ExecutorRef::Kubernetes {
            pods: self.snapshot().iter().map(|fp| fp.pod.key()).collect(),
        }
    }

    fn lease(&self, lease: Duration) -> Duration {
        pod_failure_lease(lease)
    }

    async fn apply(&self, id: &FaultId, order: &Order, _: Option<&TraceParent>) -> Applied {
        match order {
            Order::PodKill { grace_seconds } => self.kill(*grace_seconds).await,
            Order::PodFailure { containers } => self.fail(id, containers).await,
            Order::Node { .. } | Order::OnNodes { .. } => {
                Applied::from_result(Err(ExecError::Unsupported {
                    executor: KUBERNETES_API,
                    order: order.name(),
                }))
            }
        }
    }

    /// One PATCH per pod per renewal, and only when half the annotation's lease is gone:
    /// 1,000 failed pods cost ~8 requests a second, not 100.
    async fn renew(
        &self,
        _id: &FaultId,
        lease: Duration,
        _: Option<&TraceParent>,
    ) -> Result<Option<DateTime<Utc>>, ExecError> {
        let pf_lease = pod_failure_lease(lease);
        let now = Utc::now();
        let due = now + chrono::Duration::from_std(pf_lease / 2).unwrap_or_default();
        let mut pods = self.snapshot();
        let mut changed = false;
        let mut result = Ok(());
        for fp in pods.iter_mut() {
            let Some(rec) = fp.record.as_mut().filter(|r| r.expires <= due) else {
                continue;
            };
            let next = OriginalImages {
                expires: expiry(pf_lease),
                ..rec.clone()
            };
            if let Err(e) = self
                .cluster
                .pod_failure()
                .renew(&fp.pod.namespace, &fp.pod.name, &next)
                .await
            {
                result = Err(e);
                break;
            }
            *rec = next;
            changed = true;
        }
        if changed {
            self.keep(pods.clone());
        }
        result?;
        Ok(changed
            .then(|| {
                pods.iter()
                    .filter_map(|fp| fp.record.as_ref())
                    .map(|r| r.expires)
                    .min()
            })
            .flatten())
    }

    /// One GET per pod (podKill: plus one list of the namespace per pod with a
    /// controller, for its replacement); see `pod_observe.rs` for what counts as seen.
    async fn observe(
        &self,
        _: &FaultId,
        order: &Order,
        _: Option<&TraceParent>,
    ) -> Result<Option<Vec<Seen>>, ExecError> {
        match order {
            Order::PodKill { .. } => self.observe_kill().await.map(Some),
            Order::PodFailure { .. } => self.observe_failure().await.map(Some),
            Order::Node { .. } | Order::OnNodes { .. } => Err(ExecError::Unsupported {
                executor: KUBERNETES_API,
                order: order.name(),
            }),
        }
    }

    async fn recover(
        &self,
        _id: &FaultId,
        _: Option<&TraceParent>,
    ) -> Result<Vec<Recovered>, ExecError> {
        // A killed pod has nothing to restore (its outcome was recorded at the kill).
        let pods: Vec<FailedPod> = self
            .snapshot()
            .into_iter()
            .filter(|fp| fp.killed_at.is_none())
            .collect();
        let failures = self.cluster.pod_failure();
        // Built before the stream so the future stays Send (see `kill`).
        let restores: Vec<_> = pods
            .iter()
            .map(|fp| failures.restore(&fp.pod.namespace, &fp.pod.name))
            .collect();
        let results: Vec<_> = futures::stream::iter(restores)
            .buffered(POD_CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for (fp, r) in pods.iter().zip(results) {
            match r {
                // A pod never patched (the apply stopped before it) is no event.
                Ok(r) if fp.record.is_some() || self.adopted => {
                    out.push((fp.event.clone(), r.outcome().to_string()))
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ExecError::Restore(errors))
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

    fn pod(name: &str) -> PodTarget {
        PodTarget {
            namespace: "shop".into(),
            name: name.into(),
            node: Some("node-a".into()),
            containers: vec![("app".into(), Some("abc".into()))],
            ips: Vec::new(),
            uid: None,
            owner: None,
        }
    }

    fn record(expires_in: i64) -> OriginalImages {
        OriginalImages {
            fault: "run1-f1".into(),
            containers: [("app".to_string(), "web:1".to_string())].into(),
            expires: Utc::now() + chrono::Duration::seconds(expires_in),
        }
    }

    #[test]
    fn the_pod_failure_lease_outlasts_the_agent_lease() {
        assert_eq!(
            pod_failure_lease(Duration::from_secs(30)),
            Duration::from_secs(120)
        );
        assert_eq!(
            pod_failure_lease(Duration::from_secs(60)),
            Duration::from_secs(240)
        );
    }

    #[tokio::test]
    async fn only_pods_past_half_their_lease_are_renewed_and_the_new_expiry_is_kept() {
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(svc, "default");
        let cluster = Cluster::new(
            client,
            ClusterConfig::new(AgentSettings {
                namespace: "faultline".into(),
                selector: "app=agent".into(),
                port: 7150,
                token: None,
            }),
        );
        let server = tokio::spawn(async move {
            let (req, send) = handle.next_request().await.expect("one renewal");
            assert_eq!(req.method(), http::Method::PATCH);
            assert_eq!(req.uri().path(), "/api/v1/namespaces/shop/pods/due");
            let pod = serde_json::json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "due", "namespace": "shop" } });
            send.send_response(Response::new(Body::from(serde_json::to_vec(&pod).unwrap())));
            // No second call: the pod with 110 s left is not due.
            assert!(handle.next_request().await.is_none());
        });
        // Agent lease 30 s -> annotation lease 120 s; due when 60 s or less remain.
        let id = FaultId::new("run1-f1").unwrap();
        let exec = Kubernetes::new(
            Arc::new(cluster),
            &id,
            vec![pod("due"), pod("fresh")],
            Duration::from_secs(30),
        );
        {
            let mut pods = exec.pods.lock().unwrap();
            pods[0].record = Some(record(10));
            pods[1].record = Some(record(110));
        }
        let active = exec.clone();
        let next = exec
            .renew(&id, Duration::from_secs(30), None)
            .await
            .unwrap()
            .expect("a renewal changes the records");
        // The clone the run keeps sees the new expiry.
        let pods = active.snapshot();
        drop((exec, active));
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        let left = |i: usize| (pods[i].record.as_ref().unwrap().expires - Utc::now()).num_seconds();
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
