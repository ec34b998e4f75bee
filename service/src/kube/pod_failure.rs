//! podFailure, Chaos Mesh's way: the pods' containers get a pause image (the kubelet
//! restarts them into something that serves nothing), the original images are kept in an
//! annotation on the pod itself, and recovery patches them back.
//!
//! The annotation is the only state: a service that restarted, or another replica, can
//! restore a pod by reading it. It carries a lease like an agent's fault: the running
//! service renews it; once it has lapsed, no live run owns the pod and
//! [`PodFailureInjector::sweep_lapsed`] restores it.

use std::collections::BTreeMap;

use ::kube::Client;
use ::kube::api::{Api, ListParams, Patch, PatchParams};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::error::KubeError;
use super::resolve::Resolver;
use crate::application::ports::{OriginalImages, Restored};

/// Holds the original images as JSON ([`OriginalImages`]).
pub const ORIGINAL_IMAGES_ANNOTATION: &str = "faultline.dev/original-images";
/// Marks a pod under podFailure (value: the fault id), so the sweep can find every such
/// pod with one label-selected list instead of reading every pod in the cluster.
pub const POD_FAILURE_LABEL: &str = "faultline.dev/pod-failure";

/// Swaps images and back.
#[derive(Clone)]
pub struct PodFailureInjector {
    client: Client,
    pause_image: String,
}

impl PodFailureInjector {
    /// Uses `pause_image` (`--pause-image`) as the failing image.
    pub fn new(client: Client, pause_image: impl Into<String>) -> PodFailureInjector {
        PodFailureInjector {
            client,
            pause_image: pause_image.into(),
        }
    }

    /// The image failed containers get.
    pub fn pause_image(&self) -> &str {
        &self.pause_image
    }

    /// Swaps the images of `containers` of pod `ns/name` (all when empty). Applying twice
    /// keeps the first originals: a pod already failed never records the pause image as
    /// its "original".
    pub async fn fail(
        &self,
        ns: &str,
        name: &str,
        containers: &[String],
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<OriginalImages, KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pod = api
            .get(name)
            .await
            .map_err(KubeError::api(format!("get pod {ns}/{name}")))?;
        let key = format!("{ns}/{name}");
        let current: BTreeMap<String, String> = pod
            .spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let chosen: Vec<String> = if containers.is_empty() {
            current.keys().cloned().collect()
        } else {
            for c in containers {
                if !current.contains_key(c) {
                    return Err(KubeError::NoContainer {
                        pod: key,
                        message: format!(
                            "podFailure.containerNames: no container `{c}` (the pod has {})",
                            current.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            }
            containers.to_vec()
        };
        let earlier = read_annotation(&pod, &key)?;
        let mut originals = earlier.map(|e| e.containers).unwrap_or_default();
        for c in &chosen {
            if !originals.contains_key(c) {
                originals.insert(c.clone(), current[c].clone());
            }
        }
        let record = OriginalImages {
            fault: fault.to_string(),
            containers: originals,
            expires,
        };
        let swapped: Vec<_> = chosen
            .iter()
            .map(|c| json!({ "name": c, "image": self.pause_image }))
            .collect();
        let patch = json!({
            "metadata": {
                "labels": { POD_FAILURE_LABEL: fault },
                "annotations": { ORIGINAL_IMAGES_ANNOTATION: annotation_text(&record) },
            },
            "spec": { "containers": swapped },
        });
        api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .map_err(KubeError::api(format!(
                "patch pod {key} to the pause image"
            )))?;
        Ok(record)
    }

    /// Moves the lease of `record` on pod `ns/name` to `record.expires`.
    pub async fn renew(
        &self,
        ns: &str,
        name: &str,
        record: &OriginalImages,
    ) -> Result<(), KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let patch = json!({
            "metadata": { "annotations": { ORIGINAL_IMAGES_ANNOTATION: annotation_text(record) } },
        });
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if KubeError::is_not_found(&e) => Ok(()),
            Err(e) => Err(KubeError::api(format!(
                "renew podFailure on pod {ns}/{name}"
            ))(e)),
        }
    }

    /// Patches the images recorded in the annotation back and removes the annotation and
    /// label. Needs nothing but the pod: it works after a restart.
    pub async fn restore(&self, ns: &str, name: &str) -> Result<Restored, KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let key = format!("{ns}/{name}");
        let Some(pod) = api
            .get_opt(name)
            .await
            .map_err(KubeError::api(format!("get pod {key}")))?
        else {
            return Ok(Restored::PodGone);
        };
        let Some(record) = read_annotation(&pod, &key)? else {
            return Ok(Restored::NothingToRestore);
        };
        let images: Vec<_> = record
            .containers
            .iter()
            .map(|(c, image)| json!({ "name": c, "image": image }))
            .collect();
        let patch = json!({
            "metadata": {
                "labels": { POD_FAILURE_LABEL: null },
                "annotations": { ORIGINAL_IMAGES_ANNOTATION: null },
            },
            "spec": { "containers": images },
        });
        match api
            .patch(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
        {
            Ok(_) => Ok(Restored::Restored),
            Err(e) if KubeError::is_not_found(&e) => Ok(Restored::PodGone),
            Err(e) => Err(KubeError::api(format!("restore the images of pod {key}"))(
                e,
            )),
        }
    }

    /// Restores every pod in the cluster whose podFailure lease lapsed before `now`: what
    /// a killed service (or replica) left behind. Returns `NS/NAME` and outcome of each;
    /// a pod that fails to restore is logged and left for the next sweep.
    pub async fn sweep_lapsed(
        &self,
        resolver: &Resolver,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, Restored)>, KubeError> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let lp = ListParams::default().labels(POD_FAILURE_LABEL);
        let pods = resolver.list_all(&api, lp, "all namespaces").await?;
        let mut out = Vec::new();
        for pod in pods {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let key = format!("{ns}/{name}");
            let lapsed = match read_annotation(&pod, &key) {
                Ok(Some(r)) => r.expires < now,
                // The label without a readable annotation: nothing to restore from, so
                // only the label can go; say so rather than guess images.
                Ok(None) | Err(_) => {
                    tracing::warn!(pod = %key, "pod has the podFailure label but no readable {ORIGINAL_IMAGES_ANNOTATION}; restore its images by hand");
                    false
                }
            };
            if !lapsed {
                continue;
            }
            match self.restore(&ns, &name).await {
                Ok(r) => out.push((key, r)),
                Err(e) => {
                    tracing::error!(pod = %key, error = %faultline_agent::agent::error_chain(&e), "could not restore a lapsed podFailure; retrying at the next sweep")
                }
            }
        }
        Ok(out)
    }
}

fn annotation_text(record: &OriginalImages) -> String {
    // A struct of strings and a timestamp always serialises.
    serde_json::to_string(record).unwrap_or_default()
}

/// The pod's [`OriginalImages`], if it carries the annotation.
pub fn read_annotation(pod: &Pod, key: &str) -> Result<Option<OriginalImages>, KubeError> {
    let Some(text) = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ORIGINAL_IMAGES_ANNOTATION))
    else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|source| KubeError::BadAnnotation {
            pod: key.to_string(),
            annotation: ORIGINAL_IMAGES_ANNOTATION,
            source,
        })
}
