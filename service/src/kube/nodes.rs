//! Node faults through the API: nodes chosen by name or label under the guard, cordoned
//! and tainted with the change recorded on the Node itself, restored from that record.
//!
//! Each change and its record go in ONE patch (`faultline.dev/cordon` or
//! `faultline.dev/taint`, plus the `faultline.dev/node-fault` label the sweep lists by),
//! so a node never carries the change without what restores it. The record holds a lease
//! like podFailure's: the running service renews it; once it lapsed, no live run owns the
//! node and [`NodeInjector::sweep_lapsed`] restores it (a killed service). Taint patches
//! carry the node's `resourceVersion`: the taint list is replaced whole, and a concurrent
//! change (the node controller's own taints) must not be lost — a conflict is read again.
//! The drain's evictions are in `drain.rs`.

use std::sync::Mutex;

use ::kube::Client;
use ::kube::api::{Api, ListParams, Patch, PatchParams};
use chrono::{DateTime, Utc};
use faultline_spec::{Guard, PodSelector, TaintEffect};
use k8s_openapi::api::core::v1::Node;
use serde_json::{Value, json};

use super::error::KubeError;
use super::select::choose;
use crate::application::ports::{
    NodeChange, NodeMark, NodeRestored, NodeSelection, NodeState, NodeTarget, Taint, ZoneNodes,
};
use crate::domain::selection::max_chosen;

/// Holds a cordon's [`NodeMark`] as JSON.
pub const CORDON_ANNOTATION: &str = "faultline.dev/cordon";
/// Holds a taint's [`NodeMark`] as JSON.
pub const TAINT_ANNOTATION: &str = "faultline.dev/taint";
/// Marks a node under a node fault (value: the fault id), for the sweep's one list call.
pub const NODE_FAULT_LABEL: &str = "faultline.dev/node-fault";
/// The labels that make a node part of the control plane.
const CONTROL_PLANE_LABELS: [&str; 2] = [
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
];
/// How often a taint patch is tried again after a conflict.
const CONFLICT_RETRIES: usize = 3;

/// Node selection and the cordon and taint changes.
pub struct NodeInjector {
    client: Client,
    rng: Mutex<fastrand::Rng>,
}

impl NodeInjector {
    /// Over `client`.
    pub fn new(client: Client) -> NodeInjector {
        NodeInjector {
            client,
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }

    fn api(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    /// The nodes `sel` names: by `nodes` or by `nodeSelectors` (either qualifies, as for
    /// pods), listed in one call (label-selected when no name is given).
    async fn matching(&self, sel: &PodSelector) -> Result<Vec<Node>, KubeError> {
        let mut lp = ListParams::default();
        if sel.nodes.is_empty()
            && let Some(labels) = sel.node_label_selector()
        {
            lp = lp.labels(&labels);
        }
        let listed = self
            .api()
            .list(&lp)
            .await
            .map_err(KubeError::api("list nodes"))?
            .items;
        let wanted = |n: &Node| {
            let name = n.metadata.name.as_deref().unwrap_or_default();
            let by_name = sel.nodes.iter().any(|w| w == name);
            let by_label = !sel.node_selectors.is_empty()
                && sel.node_selectors.iter().all(|(k, v)| {
                    n.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(k))
                        .is_some_and(|have| have == v)
                });
            by_name || by_label
        };
        let matched: Vec<Node> = listed.into_iter().filter(wanted).collect();
        if matched.is_empty() {
            return Err(KubeError::Selector {
                field: "target".into(),
                message: format!("no node is selected by {}", sel.describe_nodes()),
            });
        }
        Ok(matched)
    }

    /// Counts what `sel` matches, with the guard.
    pub async fn check(&self, sel: &PodSelector, guard: &Guard) -> Result<usize, KubeError> {
        let matched = self.matching(sel).await?;
        guard_nodes(&matched, sel.mode, guard, &sel.describe_nodes())?;
        Ok(matched.len())
    }

    /// The nodes one step hits: matched, guarded, chosen by the mode.
    pub async fn select(
        &self,
        sel: &PodSelector,
        guard: &Guard,
    ) -> Result<NodeSelection, KubeError> {
        let matched = self.matching(sel).await?;
        let described = sel.describe_nodes();
        guard_nodes(&matched, sel.mode, guard, &described)?;
        let n = matched.len();
        let chosen = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            choose(matched, sel.mode, &mut rng)
        };
        Ok(NodeSelection {
            matched: n,
            chosen: chosen.iter().map(node_target).collect(),
            described,
        })
    }

    /// The nodes of `zone` (label `label`), guarded as `mode: all` over every zoned node,
    /// and those of the other zones.
    pub async fn zone(
        &self,
        label: &str,
        zone: &str,
        guard: &Guard,
    ) -> Result<ZoneNodes, KubeError> {
        let lp = ListParams::default().labels(label);
        let nodes = self
            .api()
            .list(&lp)
            .await
            .map_err(KubeError::api(format!("list nodes with label {label}")))?
            .items;
        let zone_of = |n: &Node| {
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(label))
                .cloned()
                .unwrap_or_default()
        };
        let (inside, outside): (Vec<Node>, Vec<Node>) =
            nodes.into_iter().partition(|n| zone_of(n) == zone);
        let described = format!("nodes {label}={zone}");
        if inside.is_empty() {
            return Err(KubeError::Selector {
                field: "zoneOutage.zone".into(),
                message: format!("no node has {label}={zone}"),
            });
        }
        refuse_control_plane(&inside, guard)?;
        let all = inside.len() + outside.len();
        if let Some(max) = guard.max_targets
            && inside.len() > max as usize
        {
            return Err(KubeError::Guard(format!(
                "{described} would hit {} nodes, over spec.guard.maxTargets = {max}",
                inside.len()
            )));
        }
        if let Some(max) = guard.max_percent
            && (inside.len() as f64) * 100.0 / (all as f64) > max.value()
        {
            return Err(KubeError::Guard(format!(
                "{described} would hit {} of {all} zoned nodes, over spec.guard.maxPercent = {max}",
                inside.len()
            )));
        }
        Ok(ZoneNodes {
            inside: inside.iter().map(node_target).collect(),
            outside: outside.iter().map(node_target).collect(),
        })
    }

    /// Makes `change` on node `name`, with its record, in one patch. The same fault's
    /// record already there: done (apply twice = once). Another fault's record of the same
    /// kind: refused, since one record per kind is what restores the node.
    pub async fn apply(
        &self,
        name: &str,
        change: &NodeChange,
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), KubeError> {
        let annotation = annotation_of(change);
        for attempt in 0..CONFLICT_RETRIES {
            let node = self
                .api()
                .get(name)
                .await
                .map_err(KubeError::api(format!("get node {name}")))?;
            if let Some(mark) = read_mark(&node, annotation)? {
                if mark.fault == fault {
                    return Ok(());
                }
                return Err(KubeError::Guard(format!(
                    "node {name} is already under fault {} ({annotation}); one {} per node at a time",
                    mark.fault,
                    change.describe()
                )));
            }
            let state = node_state(&node);
            let mut mark = NodeMark {
                fault: fault.to_string(),
                expires,
                was_unschedulable: None,
                taint: None,
            };
            let spec = match change {
                NodeChange::Cordon => {
                    mark.was_unschedulable = Some(state.unschedulable);
                    json!({ "unschedulable": true })
                }
                NodeChange::Taint(t) => {
                    if let Some(same) = state
                        .taints
                        .iter()
                        .find(|h| h.key == t.key && h.effect == t.effect)
                    {
                        return Err(KubeError::Guard(format!(
                            "node {name} already has taint {same}; recovery could not tell it from this fault's"
                        )));
                    }
                    mark.taint = Some(t.clone());
                    let mut taints = raw_taints(&node);
                    taints.push(taint_json(t));
                    json!({ "taints": taints })
                }
            };
            let patch = json!({
                "metadata": {
                    "resourceVersion": node.metadata.resource_version,
                    "labels": { NODE_FAULT_LABEL: fault },
                    "annotations": { annotation: mark_text(&mark) },
                },
                "spec": spec,
            });
            match self.patch(name, patch).await {
                Err(e) if KubeError::is_conflict(&e) && attempt + 1 < CONFLICT_RETRIES => continue,
                r => {
                    return r.map(|_| ()).map_err(KubeError::api(format!(
                        "patch node {name} ({})",
                        change.describe()
                    )));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn patch(&self, name: &str, patch: Value) -> Result<Node, ::kube::Error> {
        self.api()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
    }

    /// Moves the lease of `fault`'s records on node `name` to `expires`.
    pub async fn renew(
        &self,
        name: &str,
        fault: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), KubeError> {
        let Some(node) = self
            .api()
            .get_opt(name)
            .await
            .map_err(KubeError::api(format!("get node {name}")))?
        else {
            return Ok(());
        };
        let mut annotations = serde_json::Map::new();
        for a in [CORDON_ANNOTATION, TAINT_ANNOTATION] {
            if let Some(mut mark) = read_mark(&node, a)?.filter(|m| m.fault == fault) {
                mark.expires = expires;
                annotations.insert(a.to_string(), json!(mark_text(&mark)));
            }
        }
        if annotations.is_empty() {
            return Ok(());
        }
        match self
            .patch(name, json!({ "metadata": { "annotations": annotations } }))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if KubeError::is_not_found(&e) => Ok(()),
            Err(e) => Err(KubeError::api(format!(
                "renew the node fault on node {name}"
            ))(e)),
        }
    }

    /// Undoes the records of `fault` on node `name` (every record when `None`): the
    /// cordon back to what it was, exactly the recorded taint removed, the records and
    /// label removed. Needs nothing but the node: it works after a restart.
    pub async fn restore(
        &self,
        name: &str,
        fault: Option<&str>,
    ) -> Result<NodeRestored, KubeError> {
        for attempt in 0..CONFLICT_RETRIES {
            let Some(node) = self
                .api()
                .get_opt(name)
                .await
                .map_err(KubeError::api(format!("get node {name}")))?
            else {
                return Ok(NodeRestored::NodeGone);
            };
            let ours = |m: &NodeMark| fault.is_none_or(|f| m.fault == f);
            let cordon = read_mark(&node, CORDON_ANNOTATION)?;
            let taint = read_mark(&node, TAINT_ANNOTATION)?;
            let undo_cordon = cordon.as_ref().filter(|m| ours(m));
            let undo_taint = taint.as_ref().filter(|m| ours(m));
            if undo_cordon.is_none() && undo_taint.is_none() {
                return Ok(NodeRestored::NothingToRestore);
            }
            let mut annotations = serde_json::Map::new();
            let mut spec = serde_json::Map::new();
            if let Some(m) = undo_cordon {
                annotations.insert(CORDON_ANNOTATION.into(), Value::Null);
                // `null` removes the field, as `kubectl uncordon` leaves it.
                let before = m.was_unschedulable.unwrap_or(false);
                spec.insert(
                    "unschedulable".into(),
                    if before { json!(true) } else { Value::Null },
                );
            }
            if let Some(m) = undo_taint {
                annotations.insert(TAINT_ANNOTATION.into(), Value::Null);
                if let Some(t) = &m.taint {
                    let kept: Vec<Value> = raw_taints(&node)
                        .into_iter()
                        .filter(|raw| !same_taint(raw, t))
                        .collect();
                    spec.insert(
                        "taints".into(),
                        if kept.is_empty() {
                            Value::Null
                        } else {
                            json!(kept)
                        },
                    );
                }
            }
            let others_left = (cordon.is_some() && undo_cordon.is_none())
                || (taint.is_some() && undo_taint.is_none());
            let mut metadata = json!({
                "resourceVersion": node.metadata.resource_version,
                "annotations": annotations,
            });
            if !others_left {
                metadata["labels"] = json!({ NODE_FAULT_LABEL: null });
            }
            let patch = json!({ "metadata": metadata, "spec": spec });
            match self.patch(name, patch).await {
                Ok(_) => return Ok(NodeRestored::Restored),
                Err(e) if KubeError::is_not_found(&e) => return Ok(NodeRestored::NodeGone),
                Err(e) if KubeError::is_conflict(&e) && attempt + 1 < CONFLICT_RETRIES => continue,
                Err(e) => return Err(KubeError::api(format!("restore node {name}"))(e)),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// What node `name` shows now; `None` when it is gone.
    pub async fn read(&self, name: &str) -> Result<Option<NodeState>, KubeError> {
        Ok(self
            .api()
            .get_opt(name)
            .await
            .map_err(KubeError::api(format!("get node {name}")))?
            .map(|n| node_state(&n)))
    }

    /// Restores every node whose node-fault lease lapsed before `now`: what a killed
    /// service (or replica) left behind. Returns each node and outcome; a node that fails
    /// to restore is logged and left for the next sweep.
    pub async fn sweep_lapsed(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, NodeRestored)>, KubeError> {
        let lp = ListParams::default().labels(NODE_FAULT_LABEL);
        let nodes = self
            .api()
            .list(&lp)
            .await
            .map_err(KubeError::api("list nodes under a node fault"))?
            .items;
        let mut out = Vec::new();
        for node in nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            for a in [CORDON_ANNOTATION, TAINT_ANNOTATION] {
                let mark = match read_mark(&node, a) {
                    Ok(Some(m)) if m.expires < now => m,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(node = %name, error = %faultline_agent::agent::error_chain(&e), "unreadable node fault record; restore the node by hand");
                        continue;
                    }
                };
                match self.restore(&name, Some(&mark.fault)).await {
                    Ok(r) => out.push((name.clone(), r)),
                    Err(e) => {
                        tracing::error!(node = %name, error = %faultline_agent::agent::error_chain(&e), "could not restore a lapsed node fault; retrying at the next sweep")
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The guard over nodes: control-plane nodes refused unless allowed, then `maxTargets`
/// and `maxPercent` against the most the mode could hit.
fn guard_nodes(
    matched: &[Node],
    mode: faultline_spec::Mode,
    guard: &Guard,
    described: &str,
) -> Result<(), KubeError> {
    refuse_control_plane(matched, guard)?;
    let n = matched.len();
    let most = max_chosen(mode, n);
    if let Some(max) = guard.max_targets
        && most > max as usize
    {
        return Err(KubeError::Guard(format!(
            "{described} would hit {most} of {n} matching nodes, over spec.guard.maxTargets = {max}"
        )));
    }
    if let Some(max) = guard.max_percent
        && n > 0
        && (most as f64) * 100.0 / (n as f64) > max.value()
    {
        return Err(KubeError::Guard(format!(
            "{described} would hit {most} of {n} matching nodes, over spec.guard.maxPercent = {max}"
        )));
    }
    Ok(())
}

fn refuse_control_plane(nodes: &[Node], guard: &Guard) -> Result<(), KubeError> {
    if guard.allow_control_plane {
        return Ok(());
    }
    for n in nodes {
        let labels = n.metadata.labels.as_ref();
        if CONTROL_PLANE_LABELS
            .iter()
            .any(|l| labels.is_some_and(|ls| ls.contains_key(*l)))
        {
            return Err(KubeError::Guard(format!(
                "node {} is a control-plane node (set spec.guard.allowControlPlane: true to allow it)",
                n.metadata.name.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// The engine's view of a node.
pub fn node_target(n: &Node) -> NodeTarget {
    let addrs = n
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .cloned()
        .unwrap_or_default();
    let parse = |kind: Option<&str>| -> Vec<std::net::IpAddr> {
        addrs
            .iter()
            .filter(|a| kind.is_none_or(|k| a.type_ == k))
            .filter_map(|a| a.address.parse().ok())
            .collect()
    };
    let mut addresses = parse(Some("InternalIP"));
    if addresses.is_empty() {
        addresses = parse(None);
    }
    NodeTarget {
        name: n.metadata.name.clone().unwrap_or_default(),
        addresses,
        labels: n.metadata.labels.clone().unwrap_or_default(),
    }
}

fn annotation_of(change: &NodeChange) -> &'static str {
    match change {
        NodeChange::Cordon => CORDON_ANNOTATION,
        NodeChange::Taint(_) => TAINT_ANNOTATION,
    }
}

/// The node's record under `annotation`, if it carries one.
pub fn read_mark(node: &Node, annotation: &'static str) -> Result<Option<NodeMark>, KubeError> {
    let Some(text) = node
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotation))
    else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|source| KubeError::BadAnnotation {
            pod: format!("node {}", node.metadata.name.as_deref().unwrap_or_default()),
            annotation,
            source,
        })
}

fn mark_text(mark: &NodeMark) -> String {
    // Strings, a timestamp and a bool always serialise.
    serde_json::to_string(mark).unwrap_or_default()
}

fn node_state(n: &Node) -> NodeState {
    let spec = n.spec.as_ref();
    NodeState {
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        taints: spec
            .and_then(|s| s.taints.as_ref())
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| {
                        let effect = match t.effect.as_str() {
                            "NoSchedule" => TaintEffect::NoSchedule,
                            "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
                            "NoExecute" => TaintEffect::NoExecute,
                            _ => return None,
                        };
                        Some(Taint {
                            key: t.key.clone(),
                            value: t.value.clone().unwrap_or_default(),
                            effect,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The node's taints as the API sent them (with `timeAdded` and all), to patch back whole.
fn raw_taints(n: &Node) -> Vec<Value> {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| {
            ts.iter()
                .filter_map(|t| serde_json::to_value(t).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn taint_json(t: &Taint) -> Value {
    let mut v = json!({ "key": t.key, "effect": t.effect.as_str() });
    if !t.value.is_empty() {
        v["value"] = json!(t.value);
    }
    v
}

fn same_taint(raw: &Value, t: &Taint) -> bool {
    raw["key"] == json!(t.key)
        && raw["effect"] == json!(t.effect.as_str())
        && raw["value"].as_str().unwrap_or_default() == t.value
}
