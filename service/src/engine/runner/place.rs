//! Where an active fault lives — the run's injector, a node agent, or pods under
//! podFailure — so renewals and recoveries (step end, abort, final sweep) go back the way
//! the fault was applied.

use chrono::Utc;
use faultline_agent::agent::error_chain;
use faultline_agent::client::AgentClient;
use faultline_agent::faults::FaultId;

use crate::engine::inject::Injector;
use crate::kube::pod_failure::OriginalImages;
use crate::kube::{Cluster, PodTarget};

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
    /// Recovers fault `id` here; `(event id, outcome)` of what was recovered.
    pub(super) async fn recover(
        &self,
        id: &FaultId,
        injector: &Injector,
        cluster: Option<&Cluster>,
    ) -> Result<Vec<(String, String)>, String> {
        match self {
            Place::Injector => injector.recover(id).await.map(outcomes),
            Place::Agent { client, node } => client
                .recover(id)
                .await
                .map(|r| outcomes(r.recovered))
                .map_err(|e| format!("agent on node {node}: {}", error_chain(&e))),
            Place::PodFailure(pods) => {
                let Some(cluster) = cluster else {
                    return Err("podFailure recovery needs cluster mode".into());
                };
                let mut out = Vec::new();
                let mut errors = Vec::new();
                for fp in pods {
                    match cluster
                        .pod_failure()
                        .restore(&fp.pod.namespace, &fp.pod.name)
                        .await
                    {
                        // A pod never patched (the apply stopped before it) is no event.
                        Ok(r) if fp.record.is_some() => {
                            out.push((fp.event.clone(), r.outcome().to_string()))
                        }
                        Ok(_) => {}
                        Err(e) => errors.push(error_chain(&e)),
                    }
                }
                if errors.is_empty() {
                    Ok(out)
                } else {
                    Err(errors.join("; "))
                }
            }
        }
    }

    /// Extends the lease of fault `id` here by `lease` from now.
    pub(super) async fn renew(
        &self,
        id: &FaultId,
        injector: &Injector,
        cluster: Option<&Cluster>,
        lease: std::time::Duration,
    ) -> Result<(), String> {
        let secs = lease.as_secs().max(1);
        match self {
            Place::Injector => injector.renew(id, secs).await,
            Place::Agent { client, node } => client
                .renew(id, secs)
                .await
                .map(|_| ())
                .map_err(|e| format!("agent on node {node}: {}", error_chain(&e))),
            Place::PodFailure(pods) => {
                let Some(cluster) = cluster else {
                    return Ok(());
                };
                let expires = Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default();
                for fp in pods {
                    if let Some(rec) = &fp.record {
                        let rec = OriginalImages {
                            expires,
                            ..rec.clone()
                        };
                        cluster
                            .pod_failure()
                            .renew(&fp.pod.namespace, &fp.pod.name, &rec)
                            .await
                            .map_err(|e| error_chain(&e))?;
                    }
                }
                Ok(())
            }
        }
    }
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
