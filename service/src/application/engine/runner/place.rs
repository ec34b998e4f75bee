//! Where an active fault lives — the run's injector, a node agent, or pods under
//! podFailure — so renewals and recoveries (step end, abort, final sweep) go back the way
//! the fault was applied.

use chrono::Utc;
use faultline_agent::agent::error_chain;
use faultline_agent::client::AgentClient;
use faultline_agent::faults::FaultId;
use faultline_exporter::TraceParent;
use futures::StreamExt;

use faultline_agent::client::ClientError;

use crate::application::engine::inject::{InjectError, Injector};
use crate::application::ports::{ClusterError, OriginalImages, PodCluster, PodTarget};

/// How many pods are deleted or patched at once; the client's rate limit paces them.
pub(super) const POD_CONCURRENCY: usize = 16;

/// Why a fault could not be renewed or recovered where it lives. The messages read as
/// they did when this was text: the agent's chain, or each pod's, joined.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlaceError {
    /// The run's injector failed.
    #[error(transparent)]
    Injector(#[from] InjectError),
    /// The node agent failed.
    #[error("agent on node {node}")]
    Agent {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// podFailure pods outside cluster mode.
    #[error("podFailure recovery needs cluster mode")]
    NoCluster,
    /// Some pods could not be restored: each one's error.
    #[error("{}", restore_errors(.0))]
    Restore(Vec<ClusterError>),
    /// A pod's podFailure lease could not be renewed.
    #[error(transparent)]
    Renew(#[from] ClusterError),
}

fn restore_errors(errors: &[ClusterError]) -> String {
    errors
        .iter()
        .map(|e| error_chain(e))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where an active fault lives, so it is renewed and recovered the way it was applied.
#[derive(Clone)]
pub(crate) enum Place {
    /// The run's injector (local targets).
    Injector,
    /// A node agent found through the Kubernetes API.
    Agent {
        /// Its client.
        client: AgentClient,
        /// The node, for messages.
        node: String,
    },
    /// Pods whose images podFailure swapped.
    PodFailure(Vec<FailedPod>),
}

/// One pod of a podFailure.
#[derive(Clone)]
pub(crate) struct FailedPod {
    pub(super) pod: PodTarget,
    /// The event id (`<fault>-<n>`).
    pub(super) event: String,
    /// What the annotation holds, once patched (renewals rewrite its expiry).
    pub(super) record: Option<OriginalImages>,
}

impl Place {
    /// Recovers fault `id` here, under `parent` (its span); `(event id, outcome)` of what
    /// was recovered.
    pub(super) async fn recover(
        &self,
        id: &FaultId,
        injector: &Injector,
        cluster: Option<&dyn PodCluster>,
        parent: Option<&TraceParent>,
    ) -> Result<Vec<(String, String)>, PlaceError> {
        match self {
            Place::Injector => Ok(injector.recover(id, parent).await.map(outcomes)?),
            Place::Agent { client, node } => client
                .recover_under(id, parent)
                .await
                .map(|r| outcomes(r.recovered))
                .map_err(|source| PlaceError::Agent {
                    node: node.clone(),
                    source,
                }),
            Place::PodFailure(pods) => {
                let Some(cluster) = cluster else {
                    return Err(PlaceError::NoCluster);
                };
                // Built before the stream so the future stays Send (see cluster.rs).
                let restores: Vec<_> = pods
                    .iter()
                    .map(|fp| {
                        cluster
                            .pod_failure()
                            .restore(&fp.pod.namespace, &fp.pod.name)
                    })
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
                        Ok(r) if fp.record.is_some() => {
                            out.push((fp.event.clone(), r.outcome().to_string()))
                        }
                        Ok(_) => {}
                        Err(e) => errors.push(e),
                    }
                }
                if errors.is_empty() {
                    Ok(out)
                } else {
                    Err(PlaceError::Restore(errors))
                }
            }
        }
    }

    /// Extends the lease of fault `id` here by `lease` from now. Returns the place with
    /// its new state when that changed (podFailure records carry their expiry).
    pub(super) async fn renew(
        &self,
        id: &FaultId,
        injector: &Injector,
        cluster: Option<&dyn PodCluster>,
        lease: std::time::Duration,
        parent: Option<&TraceParent>,
    ) -> Result<Option<Place>, PlaceError> {
        let secs = lease.as_secs().max(1);
        match self {
            Place::Injector => Ok(injector.renew(id, secs, parent).await.map(|_| None)?),
            Place::Agent { client, node } => client
                .renew_under(id, secs, parent)
                .await
                .map(|_| None)
                .map_err(|source| PlaceError::Agent {
                    node: node.clone(),
                    source,
                }),
            Place::PodFailure(pods) => {
                let Some(cluster) = cluster else {
                    return Ok(None);
                };
                // One PATCH per pod per renewal: only when half the annotation's lease is
                // gone, so 1,000 failed pods cost ~8 requests a second, not 100.
                let pf_lease = pod_failure_lease(lease);
                let now = Utc::now();
                let due = now + chrono::Duration::from_std(pf_lease / 2).unwrap_or_default();
                let mut renewed = pods.clone();
                let mut changed = false;
                for fp in renewed.iter_mut() {
                    let Some(rec) = fp.record.as_mut().filter(|r| r.expires <= due) else {
                        continue;
                    };
                    let next = OriginalImages {
                        expires: now + chrono::Duration::from_std(pf_lease).unwrap_or_default(),
                        ..rec.clone()
                    };
                    cluster
                        .pod_failure()
                        .renew(&fp.pod.namespace, &fp.pod.name, &next)
                        .await?;
                    *rec = next;
                    changed = true;
                }
                Ok(changed.then_some(Place::PodFailure(renewed)))
            }
        }
    }
}

/// How long a podFailure annotation holds without renewal: longer than an agent lease
/// (`lease`), because renewing costs an API write per pod; at least two minutes. It bounds
/// how long a pod stays failed after the service that failed it died for good.
pub(super) fn pod_failure_lease(lease: std::time::Duration) -> std::time::Duration {
    (lease * 4).max(std::time::Duration::from_secs(120))
}

fn outcomes(recovered: Vec<faultline_agent::protocol::RecoveredFault>) -> Vec<(String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::agents::AgentSettings;
    use crate::kube::{Cluster, ClusterConfig};
    use http::{Request, Response};
    use kube::client::Body;
    use std::time::Duration;

    fn failed(name: &str, expires_in: i64) -> FailedPod {
        FailedPod {
            pod: PodTarget {
                namespace: "shop".into(),
                name: name.into(),
                node: Some("node-a".into()),
                containers: vec![("app".into(), Some("abc".into()))],
                ips: Vec::new(),
            },
            event: format!("run1-f1-{name}"),
            record: Some(OriginalImages {
                fault: "run1-f1".into(),
                containers: [("app".to_string(), "web:1".to_string())].into(),
                expires: Utc::now() + chrono::Duration::seconds(expires_in),
            }),
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
        let place = Place::PodFailure(vec![failed("due", 10), failed("fresh", 110)]);
        let dir = tempfile::tempdir().unwrap();
        let agent = faultline_agent::agent::Agent::open(dir.path().join("agent"));
        let injector = Injector::InProcess(std::sync::Arc::new(agent.await.unwrap()));
        let id = FaultId::new("run1-f1").unwrap();
        let next = place
            .renew(
                &id,
                &injector,
                Some(&cluster as &dyn PodCluster),
                Duration::from_secs(30),
                None,
            )
            .await
            .unwrap()
            .expect("a renewal changes the records");
        drop(cluster);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        let Place::PodFailure(pods) = next else {
            panic!("not podFailure")
        };
        let left = |i: usize| (pods[i].record.as_ref().unwrap().expires - Utc::now()).num_seconds();
        assert!(
            (115..=120).contains(&left(0)),
            "renewed to 120 s, got {}",
            left(0)
        );
        assert!((105..=110).contains(&left(1)), "untouched, got {}", left(1));
    }
}
