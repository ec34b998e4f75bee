//! podKill: delete the pods, with the fault's grace period or the pod's own.

use ::kube::Client;
use ::kube::api::{Api, DeleteParams};
use k8s_openapi::api::core::v1::Pod;

use super::error::KubeError;
use crate::application::ports::Killed;

/// Deletes pod `ns/name`. `grace_seconds` overrides the pod's
/// `terminationGracePeriodSeconds` (0 kills at once, as `kubectl delete --grace-period=0`).
pub async fn kill_pod(
    client: &Client,
    ns: &str,
    name: &str,
    grace_seconds: Option<u32>,
) -> Result<Killed, KubeError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let dp = DeleteParams {
        grace_period_seconds: grace_seconds,
        ..DeleteParams::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(Killed::Deleted),
        Err(e) if KubeError::is_not_found(&e) => Ok(Killed::AlreadyGone),
        Err(e) => Err(KubeError::api(format!("delete pod {ns}/{name}"))(e)),
    }
}
