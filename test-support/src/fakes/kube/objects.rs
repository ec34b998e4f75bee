//! Kubernetes objects in the JSON shapes the API server sends (core/v1 Pod and PodList,
//! coordination.k8s.io/v1 Lease), trimmed to the fields real answers always carry plus
//! the ones faultline reads.

use serde_json::{Value, json};

/// A pod to render.
#[derive(Debug, Clone)]
pub struct PodFx {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.nodeName`.
    pub node: Option<String>,
    /// `status.phase`.
    pub phase: String,
    /// `status.podIP`.
    pub ip: Option<String>,
    /// The Ready and ContainersReady conditions, and each container's `ready`.
    pub ready: bool,
    /// `metadata.labels`.
    pub labels: Vec<(String, String)>,
    /// `metadata.annotations`.
    pub annotations: Vec<(String, String)>,
    /// (name, image, containerID)
    pub containers: Vec<(String, String, Option<String>)>,
    /// `metadata.ownerReferences`: the controller (kind, name).
    pub owner: Option<(String, String)>,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
    /// `metadata.uid` (default: derived from the name).
    pub uid: Option<String>,
    /// `metadata.creationTimestamp` (default `2026-12-01T08:00:00Z`).
    pub created: Option<String>,
}

impl PodFx {
    /// A running, ready pod `ns/name` on `node` with one container `app`.
    pub fn new(ns: &str, name: &str, node: &str) -> PodFx {
        PodFx {
            namespace: ns.into(),
            name: name.into(),
            node: Some(node.into()),
            phase: "Running".into(),
            ip: Some("10.244.1.7".into()),
            ready: true,
            labels: vec![("app".into(), "web".into())],
            annotations: Vec::new(),
            containers: vec![(
                "app".into(),
                "ghcr.io/example/web:1.4.2".into(),
                Some(format!("containerd://{}", container_id(name, "app"))),
            )],
            owner: None,
            terminating: false,
            uid: None,
            created: None,
        }
    }

    /// Controlled by `kind/name` (e.g. `ReplicaSet`, `web-6d5f`).
    pub fn owner(mut self, kind: &str, name: &str) -> PodFx {
        self.owner = Some((kind.into(), name.into()));
        self
    }

    /// Terminating: `metadata.deletionTimestamp` set.
    pub fn terminating(mut self) -> PodFx {
        self.terminating = true;
        self
    }

    /// With `metadata.uid` `uid`.
    pub fn uid(mut self, uid: &str) -> PodFx {
        self.uid = Some(uid.into());
        self
    }

    /// Created at `rfc3339`.
    pub fn created(mut self, rfc3339: &str) -> PodFx {
        self.created = Some(rfc3339.into());
        self
    }

    /// Its `metadata.uid` as [`PodFx::json`] renders it.
    pub fn uid_text(&self) -> String {
        self.uid
            .clone()
            .unwrap_or_else(|| format!("3f6c2b1e-0000-4000-8000-{:012x}", fxhash(&self.name)))
    }

    /// With `status.phase` `p`.
    pub fn phase(mut self, p: &str) -> PodFx {
        self.phase = p.into();
        self
    }

    /// With pod IP `ip`.
    pub fn ip(mut self, ip: &str) -> PodFx {
        self.ip = Some(ip.into());
        self
    }

    /// Not ready.
    pub fn not_ready(mut self) -> PodFx {
        self.ready = false;
        self
    }

    /// With label `k=v`.
    pub fn label(mut self, k: &str, v: &str) -> PodFx {
        self.labels.push((k.into(), v.into()));
        self
    }

    /// With annotation `k=v`.
    pub fn annotation(mut self, k: &str, v: &str) -> PodFx {
        self.annotations.push((k.into(), v.into()));
        self
    }

    /// With one more container `name` running `image`.
    pub fn container(mut self, name: &str, image: &str) -> PodFx {
        let id = format!("containerd://{}", container_id(&self.name, name));
        self.containers.push((name.into(), image.into(), Some(id)));
        self
    }

    /// As the API server sends it.
    pub fn json(&self) -> Value {
        let map = |kv: &[(String, String)]| -> Value {
            Value::Object(
                kv.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        let mut metadata = json!({
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid_text(),
            "resourceVersion": "48213",
            "creationTimestamp": self.created.as_deref().unwrap_or("2026-12-01T08:00:00Z"),
            "labels": map(&self.labels),
        });
        if let Some((kind, name)) = &self.owner {
            metadata["ownerReferences"] = json!([{
                "apiVersion": "apps/v1", "kind": kind, "name": name,
                "uid": format!("9b0d7c4e-0000-4000-8000-{:012x}", fxhash(name) & 0xffff_ffff_ffff),
                "controller": true, "blockOwnerDeletion": true,
            }]);
        }
        if self.terminating {
            metadata["deletionTimestamp"] = json!("2026-12-01T08:10:00Z");
            metadata["deletionGracePeriodSeconds"] = json!(30);
        }
        if !self.annotations.is_empty() {
            metadata["annotations"] = map(&self.annotations);
        }
        let ready = if self.ready { "True" } else { "False" };
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {
                "nodeName": self.node,
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "containers": self.containers.iter().map(|(n, image, _)| json!({
                    "name": n, "image": image, "imagePullPolicy": "IfNotPresent",
                })).collect::<Vec<_>>(),
            },
            "status": {
                "phase": self.phase,
                "podIP": self.ip,
                "hostIP": "192.168.49.2",
                "startTime": "2026-12-01T08:00:01Z",
                "conditions": [
                    { "type": "Ready", "status": ready, "lastTransitionTime": "2026-12-01T08:00:05Z" },
                    { "type": "ContainersReady", "status": ready, "lastTransitionTime": "2026-12-01T08:00:05Z" },
                    { "type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-01T08:00:00Z" },
                ],
                "containerStatuses": self.containers.iter().map(|(n, image, id)| json!({
                    "name": n,
                    "image": image,
                    "imageID": format!("{image}@sha256:{:064x}", fxhash(n)),
                    "containerID": id,
                    "ready": self.ready,
                    "restartCount": 0,
                    "started": true,
                    "state": { "running": { "startedAt": "2026-12-01T08:00:03Z" } },
                })).collect::<Vec<_>>(),
            },
        })
    }
}

/// A 64-hex container ID derived from pod and container name.
pub fn container_id(pod: &str, container: &str) -> String {
    format!(
        "{:032x}{:032x}",
        fxhash(pod) as u128,
        fxhash(container) as u128
    )
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A PodList page; `next` is the `continue` token (empty on the last page).
pub fn pod_list(items: &[PodFx], next: &str) -> Value {
    pod_list_json(items.iter().map(PodFx::json).collect(), next)
}

/// A PodList page of already rendered pods.
pub fn pod_list_json(items: Vec<Value>, next: &str) -> Value {
    let mut metadata = json!({ "resourceVersion": "48213" });
    if !next.is_empty() {
        metadata["continue"] = json!(next);
        metadata["remainingItemCount"] = json!(1);
    }
    json!({ "kind": "PodList", "apiVersion": "v1", "metadata": metadata, "items": items })
}

/// `items` as serialized PodList pages of `page` pods, each page's `continue` token being
/// the next page's index (see [`continue_index`]).
pub fn paged_pod_lists(items: Vec<Value>, page: usize) -> Vec<Vec<u8>> {
    let n = items.len().div_ceil(page);
    items
        .chunks(page)
        .enumerate()
        .map(|(k, chunk)| {
            let next = if k + 1 < n {
                format!("{}", k + 1)
            } else {
                String::new()
            };
            serde_json::to_vec(&pod_list_json(chunk.to_vec(), &next)).unwrap()
        })
        .collect()
}

/// The page a list call asks for: its `continue` token as [`paged_pod_lists`] wrote it,
/// 0 without one.
pub fn continue_index(query: &str) -> usize {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("continue="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A Lease as `kubectl get lease -o json` shows it.
pub fn lease(holder: Option<&str>, renew: &str, transitions: i32, rv: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "faultline-leader",
            "namespace": "faultline",
            "uid": "8a1f5a52-6f0e-4d37-9d0b-2b7d1c1e9a10",
            "resourceVersion": rv,
            "creationTimestamp": "2026-12-01T07:00:00Z",
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-12-01T07:00:00.000000Z",
            "renewTime": renew,
            "leaseTransitions": transitions,
        }
    })
}
