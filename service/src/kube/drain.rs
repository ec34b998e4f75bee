//! nodeDrain's evictions, as `kubectl drain` makes them: every pod on the node through the
//! Eviction API (policy/v1), DaemonSet and mirror pods skipped (their controllers would
//! put them straight back; a mirror pod is the kubelet's), and so are pods in a protected
//! namespace. A 429 is a PodDisruptionBudget refusing: tried again every few seconds until
//! the bound, then reported as blocked with the budget the answer names. Nothing is ever
//! forced (no delete instead of an eviction).

use std::time::Duration;

use ::kube::Client;
use ::kube::api::{Api, ListParams, PostParams};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::error::KubeError;
use crate::application::ports::{Eviction, EvictionOutcome};

/// How long a blocked eviction waits before it is tried again (kubectl waits 5s).
const RETRY_EVERY: Duration = Duration::from_secs(5);
/// The annotation that makes a pod a mirror pod (a static pod of the kubelet).
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Evicts every evictable pod on `node`, retrying refused ones for `retry_for`.
pub async fn evict_all(
    client: &Client,
    node: &str,
    protected: &[String],
    grace_seconds: Option<u32>,
    retry_for: Duration,
) -> Result<Vec<Eviction>, KubeError> {
    let all: Api<Pod> = Api::all(client.clone());
    let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let pods = all
        .list(&lp)
        .await
        .map_err(KubeError::api(format!("list the pods on node {node}")))?
        .items;
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for p in pods {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        let key = format!("{ns}/{name}");
        match skip_reason(&p, protected) {
            Some(why) => out.push(Eviction {
                pod: key,
                outcome: EvictionOutcome::Skipped(why),
            }),
            None => pending.push((ns, name, key)),
        }
    }
    let deadline = Instant::now() + retry_for;
    loop {
        let mut blocked = Vec::new();
        for (ns, name, key) in pending {
            match evict(client, &ns, &name, grace_seconds).await {
                Ok(outcome @ (EvictionOutcome::Evicted | EvictionOutcome::Gone)) => {
                    out.push(Eviction { pod: key, outcome })
                }
                Ok(outcome) => blocked.push((ns, name, key, outcome)),
                Err(e) => return Err(e),
            }
        }
        let now = Instant::now();
        if blocked.is_empty() || now >= deadline {
            out.extend(
                blocked
                    .into_iter()
                    .map(|(_, _, pod, outcome)| Eviction { pod, outcome }),
            );
            return Ok(out);
        }
        tokio::time::sleep(RETRY_EVERY.min(deadline - now)).await;
        pending = blocked
            .into_iter()
            .map(|(ns, name, key, _)| (ns, name, key))
            .collect();
    }
}

/// Why `kubectl drain` would leave this pod, or `None`.
fn skip_reason(p: &Pod, protected: &[String]) -> Option<String> {
    let owned_by_daemonset = p
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|o| o.iter().any(|r| r.kind == "DaemonSet"));
    if owned_by_daemonset {
        return Some("DaemonSet pod".into());
    }
    if p.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_ANNOTATION))
    {
        return Some("mirror pod".into());
    }
    let ns = p.metadata.namespace.as_deref().unwrap_or_default();
    if protected.iter().any(|x| x == ns) {
        return Some(format!("protected namespace `{ns}`"));
    }
    None
}

/// One eviction. Built by hand rather than with `Api::evict`, whose body (kube 5) writes
/// `delete_options` in snake case with no `apiVersion`/`kind`, so a grace period would be
/// dropped by the API server.
async fn evict(
    client: &Client,
    ns: &str,
    name: &str,
    grace_seconds: Option<u32>,
) -> Result<EvictionOutcome, KubeError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut body = json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": { "name": name, "namespace": ns },
    });
    if let Some(g) = grace_seconds {
        body["deleteOptions"] = json!({ "gracePeriodSeconds": g });
    }
    match api
        .create_subresource::<Value, Value>("eviction", name, &PostParams::default(), &body)
        .await
    {
        Ok(_) => Ok(EvictionOutcome::Evicted),
        Err(e) if KubeError::is_not_found(&e) => Ok(EvictionOutcome::Gone),
        Err(::kube::Error::Api(status)) if status.code == 429 => {
            // "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"
            let causes = status
                .details
                .as_ref()
                .map(|d| d.causes.as_slice())
                .unwrap_or_default();
            let budget = causes
                .iter()
                .find(|c| c.reason == "DisruptionBudget")
                .and_then(|c| budget_name(&c.message));
            let message = causes
                .iter()
                .find(|c| c.reason == "DisruptionBudget")
                .map_or(status.message.clone(), |c| c.message.clone());
            Ok(EvictionOutcome::Blocked { budget, message })
        }
        Err(e) => Err(KubeError::api(format!("evict pod {ns}/{name}"))(e)),
    }
}

/// The budget's name in the API server's cause message.
fn budget_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("The disruption budget ")?;
    rest.split_whitespace().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_read_from_the_api_server_s_cause() {
        assert_eq!(
            budget_name("The disruption budget web-pdb needs 2 healthy pods and has 2 currently"),
            Some("web-pdb".into())
        );
        assert_eq!(budget_name("Cannot evict pod"), None);
    }
}
