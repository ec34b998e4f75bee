//! Targets: Kubernetes pod selectors with a mode, or `local:` things on this machine.

use super::cx::{Cx, Obj, Schema, index, join};
use super::tree::Node;
use crate::selector::{LabelExpression, LabelOperator, Mode, PodPhase, PodSelector, Target};
use crate::target::LocalTarget;

/// Schema of one `expressionSelectors` entry.
pub static EXPRESSION: Schema = Schema::new(&[("key", None), ("operator", None), ("values", None)]);

/// Chaos Mesh's `selector` (no mode: that sits beside it).
pub static SELECTOR: Schema = Schema::new(&[
    ("namespaces", None),
    ("labelSelectors", None),
    ("expressionSelectors", None),
    ("fieldSelectors", None),
    ("annotationSelectors", None),
    ("podPhaseSelectors", None),
    ("pods", None),
    ("nodes", None),
    ("nodeSelectors", None),
    ("physicalMachines", None),
]);

/// A peer selector (a network fault's `peerSelector`): selector fields plus mode/value.
pub static PEER: Schema = Schema::new(&[
    ("namespaces", None),
    ("labelSelectors", None),
    ("expressionSelectors", None),
    ("fieldSelectors", None),
    ("annotationSelectors", None),
    ("podPhaseSelectors", None),
    ("pods", None),
    ("nodes", None),
    ("nodeSelectors", None),
    ("mode", None),
    ("value", None),
]);

/// `local:` targets.
pub static LOCAL: Schema = Schema::new(&[
    ("pid", None),
    ("processName", None),
    ("cgroup", None),
    ("netns", None),
    ("containerId", None),
]);

/// The native `target` (selector, mode and value inline; or `local`).
pub static TARGET: Schema = Schema::new(&[
    ("namespaces", None),
    ("labelSelectors", None),
    ("expressionSelectors", None),
    ("fieldSelectors", None),
    ("annotationSelectors", None),
    ("podPhaseSelectors", None),
    ("pods", None),
    ("nodes", None),
    ("nodeSelectors", None),
    ("mode", None),
    ("value", None),
    ("local", Some(&LOCAL)),
]);

/// Reads a native `target`.
pub fn target(cx: &mut Cx, node: &Node, path: &str) -> Option<Target> {
    cx.object(node, path, &TARGET, |cx, o| {
        if let Some(l) = o.get("local") {
            let others: Vec<_> = o.keys().filter(|(k, _)| *k != "local").collect();
            if let Some((k, key)) = others.first() {
                cx.err_hint(
                    &o.at(k),
                    key.pos,
                    "a target is either `local` or a Kubernetes selector, not both",
                    "remove the selector fields or the `local` key",
                );
                return None;
            }
            return local(cx, l, &o.at("local")).map(Target::Local);
        }
        let mode = mode(cx, o);
        let sel = selector_fields(cx, o);
        let mut sel = sel?;
        sel.mode = mode?;
        Some(Target::Kubernetes(sel))
    })
    .flatten()
}

/// Reads `mode` and `value` beside a selector.
pub fn mode(cx: &mut Cx, o: &Obj<'_>) -> Option<Mode> {
    let Some(m) = o.get("mode") else {
        cx.missing(o, "mode", &format!("one of {}", Mode::ALL_NAMES.join(", ")));
        return None;
    };
    let name = cx.one_of(m, &o.at("mode"), &Mode::ALL_NAMES)?;
    let value = match o.get("value") {
        Some(v) => Some((cx.string(v, &o.at("value"))?, v.pos)),
        None => None,
    };
    let pos = value.as_ref().map_or(m.pos, |(_, p)| *p);
    let path = if value.is_some() {
        o.at("value")
    } else {
        o.at("mode")
    };
    match Mode::from_parts(name, value.as_ref().map(|(s, _)| s.as_str())) {
        Ok(m) => Some(m),
        Err(e) => {
            let hint = if Mode::needs_value(name) {
                "`fixed` takes a pod count (`value: \"2\"`); the percent modes take 0 to 100"
            } else {
                "only fixed, fixed-percent and random-max-percent take a `value`"
            };
            cx.err_hint(&path, pos, e.to_string(), hint);
            None
        }
    }
}

/// Reads the selector fields of `o` (whichever of them it has).
pub fn selector_fields(cx: &mut Cx, o: &Obj<'_>) -> Option<PodSelector> {
    let mut sel = PodSelector::default();
    let mut ok = true;
    let mut check = |r: Option<()>| ok &= r.is_some();
    if let Some(n) = o.get("namespaces") {
        check(
            cx.strings(n, &o.at("namespaces"))
                .map(|v| sel.namespaces = v),
        );
    }
    if let Some(n) = o.get("labelSelectors") {
        check(
            cx.string_map(n, &o.at("labelSelectors"))
                .map(|v| sel.label_selectors = v),
        );
    }
    if let Some(n) = o.get("fieldSelectors") {
        check(
            cx.string_map(n, &o.at("fieldSelectors"))
                .map(|v| sel.field_selectors = v),
        );
    }
    if let Some(n) = o.get("annotationSelectors") {
        check(
            cx.string_map(n, &o.at("annotationSelectors"))
                .map(|v| sel.annotation_selectors = v),
        );
    }
    if let Some(n) = o.get("expressionSelectors") {
        check(
            expressions(cx, n, &o.at("expressionSelectors")).map(|v| sel.expression_selectors = v),
        );
    }
    if let Some(n) = o.get("podPhaseSelectors") {
        let path = o.at("podPhaseSelectors");
        let phases = cx.list(n, &path).map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    cx.one_of(p, &index(&path, i), &PodPhase::ALL_NAMES)
                        .and_then(PodPhase::parse)
                })
                .collect::<Vec<_>>()
        });
        check(phases.map(|v| sel.pod_phase_selectors = v));
    }
    if let Some(n) = o.get("pods") {
        check(pods(cx, n, &o.at("pods")).map(|v| sel.pods = v));
    }
    if let Some(n) = o.get("physicalMachines") {
        // Known, so a Chaos Mesh manifest gets the reason rather than "unknown field".
        cx.err_hint(
            &o.at("physicalMachines"),
            n.pos,
            "`physicalMachines` is not supported: it selects chaosd machines (PhysicalMachineChaos), which faultline does not drive",
            "run faultline's node agent on the machine and aim a native experiment at it with `target: {local: ...}`, or select pods with `nodes:`",
        );
        check(None);
    }
    if let Some(n) = o.get("nodes") {
        check(cx.strings(n, &o.at("nodes")).map(|v| sel.nodes = v));
    }
    if let Some(n) = o.get("nodeSelectors") {
        check(
            cx.string_map(n, &o.at("nodeSelectors"))
                .map(|v| sel.node_selectors = v),
        );
    }
    ok.then_some(sel)
}

fn expressions(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<LabelExpression>> {
    let items = cx.list(node, path)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let e = cx
            .object(item, &p, &EXPRESSION, |cx, o| {
                let key = match o.get("key") {
                    Some(k) => cx.nonempty(k, &o.at("key")),
                    None => {
                        cx.missing(o, "key", "the label key");
                        None
                    }
                };
                let op = match o.get("operator") {
                    Some(n) => cx
                        .one_of(n, &o.at("operator"), &LabelOperator::ALL_NAMES)
                        .and_then(LabelOperator::parse),
                    None => {
                        cx.missing(o, "operator", "In, NotIn, Exists or DoesNotExist");
                        None
                    }
                };
                let values = match o.get("values") {
                    Some(n) => cx.strings(n, &o.at("values")),
                    None => Some(Vec::new()),
                };
                let (key, operator, values) = (key?, op?, values?);
                if operator.needs_values() && values.is_empty() {
                    cx.err(
                        &o.at("values"),
                        o.pos,
                        format!("operator `{operator:?}` needs a non-empty `values` list"),
                    );
                    return None;
                }
                if !operator.needs_values() && !values.is_empty() {
                    cx.err(
                        &o.at("values"),
                        o.pos,
                        format!("operator `{operator:?}` takes no `values`"),
                    );
                    return None;
                }
                Some(LabelExpression {
                    key,
                    operator,
                    values,
                })
            })
            .flatten();
        match e {
            Some(e) => out.push(e),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn pods(
    cx: &mut Cx,
    node: &Node,
    path: &str,
) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
    let super::tree::Value::Map(entries) = &node.value else {
        cx.expected(path, node, "a map of namespace to pod names");
        return None;
    };
    let mut out = std::collections::BTreeMap::new();
    let mut ok = true;
    for (k, v) in entries {
        let Some(ns) = k.key_text() else {
            cx.err(path, k.pos, "a key must be a namespace name");
            ok = false;
            continue;
        };
        match cx.strings(v, &join(path, ns)) {
            Some(names) => {
                out.insert(ns.to_string(), names);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Reads `local: {pid | processName | cgroup | netns | containerId}` (exactly one).
pub fn local(cx: &mut Cx, node: &Node, path: &str) -> Option<LocalTarget> {
    cx.object(node, path, &LOCAL, |cx, o| {
        let keys: Vec<_> = o.keys().filter(|(k, _)| LOCAL.fields.iter().any(|(f, _)| f == k)).collect();
        let allowed = "one of pid, processName, cgroup, netns, containerId";
        match keys.as_slice() {
            [] => {
                cx.err(path, o.pos, format!("a local target needs {allowed}"));
                None
            }
            [(k, _)] => {
                let n = o.get(k)?;
                let p = o.at(k);
                match *k {
                    "pid" => cx.int(n, &p, 1, i64::from(i32::MAX)).map(|v| LocalTarget::Pid(v as u32)),
                    "processName" => {
                        let s = cx.nonempty(n, &p)?;
                        if s.contains('/') {
                            cx.err(&p, n.pos, "a process name has no `/`; use the executable's base name");
                            return None;
                        }
                        Some(LocalTarget::ProcessName(s))
                    }
                    "cgroup" => cx.nonempty(n, &p).map(|s| LocalTarget::Cgroup(s.into())),
                    "netns" => cx.nonempty(n, &p).map(LocalTarget::Netns),
                    _ => {
                        let s = cx.nonempty(n, &p)?;
                        let hex = s.trim_start_matches("containerd://").trim_start_matches("docker://");
                        if hex.len() < 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                            cx.err(&p, n.pos, "a container ID is at least 12 hex digits (a unique prefix of the full ID)");
                            return None;
                        }
                        Some(LocalTarget::ContainerId(hex.to_string()))
                    }
                }
            }
            [_, (k2, key2), ..] => {
                cx.err_hint(&o.at(k2), key2.pos, "a local target names exactly one thing", format!("keep {allowed}"));
                None
            }
        }
    })
    .flatten()
}
