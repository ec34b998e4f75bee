//! Pods read back for a pod fault's observation: one GET by name, or the namespace's
//! pods filtered to one controller's (a killed pod's replacement).

use ::kube::api::{Api, ListParams};
use chrono::DateTime;
use k8s_openapi::api::core::v1::Pod;

use super::error::KubeError;
use super::resolve::Resolver;
use crate::application::ports::{PodOwner, PodRead};

/// Pod `ns/name` as it is now; `None` when the API server answers 404.
pub async fn read_pod(
    resolver: &Resolver,
    ns: &str,
    name: &str,
) -> Result<Option<PodRead>, KubeError> {
    let api: Api<Pod> = Api::namespaced(resolver.client().clone(), ns);
    let pod = api
        .get_opt(name)
        .await
        .map_err(KubeError::api(format!("get pod {ns}/{name}")))?;
    Ok(pod.as_ref().map(pod_read))
}

/// The pods of namespace `ns` whose controller is `owner`.
pub async fn owned_pods(
    resolver: &Resolver,
    ns: &str,
    owner: &PodOwner,
) -> Result<Vec<PodRead>, KubeError> {
    let api: Api<Pod> = Api::namespaced(resolver.client().clone(), ns);
    let pods = resolver
        .list_all(&api, ListParams::default(), &format!("namespace {ns}"))
        .await?;
    Ok(pods
        .iter()
        .map(pod_read)
        .filter(|p| p.owner.as_ref() == Some(owner))
        .collect())
}

/// The pod's controller: its owner reference marked `controller`.
pub fn pod_owner(pod: &Pod) -> Option<PodOwner> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| PodOwner {
            kind: o.kind.clone(),
            name: o.name.clone(),
        })
}

/// The application's view of `pod`.
pub fn pod_read(pod: &Pod) -> PodRead {
    PodRead {
        name: pod.metadata.name.clone().unwrap_or_default(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        created: pod
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0)),
        terminating: pod.metadata.deletion_timestamp.is_some(),
        phase: pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default(),
        owner: pod_owner(pod),
        images: pod
            .spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
        running: pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map(|cs| {
                cs.iter()
                    .map(|c| (c.name.clone(), c.image.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}
