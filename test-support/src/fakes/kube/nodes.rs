//! Nodes, evictions and their refusals in the JSON shapes the API server sends (core/v1
//! Node and NodeList, the Eviction subresource's Status answers).

use serde_json::{Value, json};

/// A node to render.
#[derive(Debug, Clone)]
pub struct NodeFx {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Vec<(String, String)>,
    /// `metadata.annotations`.
    pub annotations: Vec<(String, String)>,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// `spec.taints`: (key, value, effect).
    pub taints: Vec<(String, Option<String>, String)>,
    /// The `InternalIP` address.
    pub ip: String,
}

impl NodeFx {
    /// A ready, schedulable worker `name` at `ip`, labelled as kubeadm labels one.
    pub fn new(name: &str, ip: &str) -> NodeFx {
        NodeFx {
            name: name.into(),
            labels: vec![
                ("kubernetes.io/hostname".into(), name.into()),
                ("kubernetes.io/os".into(), "linux".into()),
            ],
            annotations: Vec::new(),
            unschedulable: false,
            taints: Vec::new(),
            ip: ip.into(),
        }
    }

    /// With label `k=v`.
    pub fn label(mut self, k: &str, v: &str) -> NodeFx {
        self.labels.push((k.into(), v.into()));
        self
    }

    /// With annotation `k=v`.
    pub fn annotation(mut self, k: &str, v: &str) -> NodeFx {
        self.annotations.push((k.into(), v.into()));
        self
    }

    /// Cordoned.
    pub fn cordoned(mut self) -> NodeFx {
        self.unschedulable = true;
        self
    }

    /// With taint `key[=value]:effect`.
    pub fn taint(mut self, key: &str, value: Option<&str>, effect: &str) -> NodeFx {
        self.taints
            .push((key.into(), value.map(str::to_string), effect.into()));
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
            "uid": format!("5b1f0c2e-0000-4000-8000-{:012}", self.name.len()),
            "resourceVersion": "90210",
            "creationTimestamp": "2026-11-01T08:00:00Z",
            "labels": map(&self.labels),
        });
        if !self.annotations.is_empty() {
            metadata["annotations"] = map(&self.annotations);
        }
        let mut spec = json!({ "podCIDR": "10.244.1.0/24", "providerID": format!("kind://docker/kind/{}", self.name) });
        if self.unschedulable {
            spec["unschedulable"] = json!(true);
        }
        if !self.taints.is_empty() {
            spec["taints"] = json!(
                self.taints
                    .iter()
                    .map(|(k, v, e)| {
                        let mut t =
                            json!({ "key": k, "effect": e, "timeAdded": "2026-11-02T10:00:00Z" });
                        if let Some(v) = v {
                            t["value"] = json!(v);
                        }
                        t
                    })
                    .collect::<Vec<_>>()
            );
        }
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": metadata,
            "spec": spec,
            "status": {
                "addresses": [
                    { "type": "InternalIP", "address": self.ip },
                    { "type": "Hostname", "address": self.name },
                ],
                "conditions": [
                    { "type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": "2026-11-01T08:01:00Z" },
                ],
                "nodeInfo": { "kubeletVersion": "v1.31.0", "containerRuntimeVersion": "containerd://1.7.18", "architecture": "amd64", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0", "kubeProxyVersion": "v1.31.0", "bootID": "b", "machineID": "m", "systemUUID": "s" },
            },
        })
    }
}

/// A NodeList.
pub fn node_list(items: &[NodeFx]) -> Value {
    json!({
        "kind": "NodeList",
        "apiVersion": "v1",
        "metadata": { "resourceVersion": "90210" },
        "items": items.iter().map(NodeFx::json).collect::<Vec<_>>(),
    })
}

/// The Status an accepted eviction answers with (201).
pub fn eviction_accepted() -> Value {
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 })
}

/// The 429 an eviction gets when PodDisruptionBudget `budget` would be violated, as the
/// API server words it.
pub fn eviction_blocked(budget: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "reason": "TooManyRequests",
        "details": {
            "causes": [{
                "reason": "DisruptionBudget",
                "message": format!("The disruption budget {budget} needs 2 healthy pods and has 2 currently"),
            }]
        },
        "code": 429
    })
}
