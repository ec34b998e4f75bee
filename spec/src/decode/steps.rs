//! `steps`: faults, `parallel:` and `serial:` groups, `suspend:` waits, `check:` status
//! checks (`check_step.rs`), `task:` steps (`task_step.rs`), `repeat:` (`super::repeat`).

use super::cx::{Cx, Obj, Schema, index, join};
use super::fault;
use super::target::{TARGET, target};
use super::task_step::{StepReader, TASK, TASK_KEY, task_step};
use super::tree::Node;
use super::tree::{ScalarKind, Value};
use crate::experiment::{FaultStep, Group, Step};
use crate::fault::{FaultKind, STEP_KEYS, Targets};
use crate::selector::{PodSelector, Target};
use crate::units::Duration;
use crate::verify::Verify;

/// One step's fields: the group keys, the per-fault options, and every fault kind.
pub static STEP: Schema = Schema {
    fields: &[
        ("name", None),
        ("duration", None),
        ("untilAborted", None),
        ("verify", Some(&VERIFY)),
        ("deadline", None),
        ("target", Some(&TARGET)),
        ("parallel", None),
        ("serial", None),
        ("suspend", None),
        ("check", Some(&super::check_step::CHECK_STEP)),
        (TASK_KEY, Some(&TASK)),
        ("repeat", Some(&REPEAT)),
    ],
    include: &[&STEP_KEYS],
};

/// `verify:`'s fields, when it is a map (it may also be `true` or `false`).
pub static VERIFY: Schema = Schema::new(&[("within", None), ("minCoverage", None)]);

/// `repeat:`'s fields (read by `super::repeat`; here, as the step schema nests it).
pub static REPEAT: Schema = Schema::new(&[
    ("schedule", None),
    ("concurrencyPolicy", None),
    ("step", Some(&STEP)),
]);

const GROUPS: [&str; 4] = ["parallel", "serial", "suspend", "repeat"];
/// Step keys that are neither a group nor a fault kind.
const OTHERS: [&str; 1] = ["check"];

/// What the experiment-level target is, for the per-step checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultTarget {
    /// No `spec.target`: every fault step needs its own.
    None,
    /// Kubernetes pods.
    Kubernetes,
    /// A local thing.
    Local,
    /// `spec.target` was given but is invalid (already reported): skip target checks.
    Invalid,
}

/// State shared by all steps of one experiment.
pub struct Steps {
    /// The experiment-level target.
    pub default: DefaultTarget,
    names: Vec<String>,
}

impl Steps {
    /// Starts with the experiment's default target.
    pub fn new(default: DefaultTarget) -> Self {
        Steps {
            default,
            names: Vec::new(),
        }
    }

    /// Reads a non-empty list of steps.
    pub fn list(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Step>> {
        let items = cx.list(node, path)?;
        if items.is_empty() {
            cx.err(path, node.pos, "needs at least one step");
            return None;
        }
        let steps: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, n)| self.step(cx, n, &index(path, i)))
            .collect();
        steps.into_iter().collect()
    }

    pub(super) fn step(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<Step> {
        cx.object(node, path, &STEP, |cx, o| {
            let kinds: Vec<_> = o
                .keys()
                .filter(|(k, _)| {
                    GROUPS.contains(k)
                        || OTHERS.contains(k)
                        || *k == TASK_KEY
                        || FaultKind::ALL_NAMES.contains(k)
                })
                .collect();
            match kinds.as_slice() {
                [] => {
                    cx.err_hint(
                        path,
                        o.pos,
                        "a step needs one fault or group",
                        format!(
                            "use one of parallel, serial, suspend, repeat, check, task, {}",
                            FaultKind::ALL_NAMES.join(", ")
                        ),
                    );
                    None
                }
                [("repeat", _)] => self.repeat(cx, o),
                [(k, _)] if GROUPS.contains(k) => self.group(cx, o, k),
                [("check", _)] => super::check_step::check_step(cx, o, &mut |cx, n, p, pos| {
                    self.claim_name(cx, n, p, pos)
                }),
                [(k, _)] if *k == TASK_KEY => task_step(self, cx, o),
                [(k, _)] => self.fault_step(cx, o, k),
                [(a, _), (b, key), ..] => {
                    cx.err_hint(
                        &o.at(b),
                        key.pos,
                        format!("a step holds one fault or group, but this one also has `{a}`"),
                        "split it into two steps, or wrap them in `parallel:`",
                    );
                    None
                }
            }
        })
        .flatten()
    }

    /// Records a step name, refusing one used before.
    fn claim_name(
        &mut self,
        cx: &mut Cx,
        name: String,
        path: &str,
        pos: super::tree::Pos,
    ) -> Option<String> {
        if self.names.contains(&name) {
            cx.err(
                path,
                pos,
                format!("step name `{name}` is used twice; names must be unique"),
            );
            return None;
        }
        self.names.push(name.clone());
        Some(name)
    }

    fn group(&mut self, cx: &mut Cx, o: &Obj<'_>, kind: &str) -> Option<Step> {
        let mut ok = true;
        for (k, key) in o.keys() {
            let misplaced = ["name", "duration", "untilAborted", "target", "verify"].contains(&k)
                || (k == "deadline" && kind == "suspend");
            if k != kind && misplaced {
                cx.err_hint(
                    &o.at(k),
                    key.pos,
                    format!("`{k}` does not apply to a `{kind}` step"),
                    "set it on the fault steps inside",
                );
                ok = false;
            }
        }
        let deadline = match o.get("deadline").filter(|_| kind != "suspend") {
            Some(n) => match cx.parsed::<Duration>(n, &o.at("deadline"), "a duration like `5m`") {
                Some(d) if d == Duration::ZERO => {
                    cx.err(&o.at("deadline"), n.pos, "must be longer than 0s");
                    None
                }
                Some(d) => Some(Some(d)),
                None => None,
            },
            None => Some(None),
        };
        let n = o.get(kind)?;
        let p = o.at(kind);
        let group = |steps| Group {
            steps,
            deadline: deadline.flatten(),
        };
        let step = match kind {
            "suspend" => cx
                .parsed::<Duration>(n, &p, "a duration >= 0 like `1m`")
                .map(Step::Suspend),
            "parallel" => self.list(cx, n, &p).map(group).map(Step::Parallel),
            _ => self.list(cx, n, &p).map(group).map(Step::Serial),
        };
        if ok && deadline.is_some() { step } else { None }
    }

    fn fault_step(&mut self, cx: &mut Cx, o: &Obj<'_>, kind: &str) -> Option<Step> {
        let fault = o
            .get(kind)
            .and_then(|n| fault::fault(cx, kind, n, &o.at(kind)));
        let name = match o.get("name") {
            Some(n) => {
                let s = cx.nonempty(n, &o.at("name"));
                if let Some(s) = &s {
                    if self.names.contains(s) {
                        cx.err(
                            &o.at("name"),
                            n.pos,
                            format!("step name `{s}` is used twice; names must be unique"),
                        );
                    } else {
                        self.names.push(s.clone());
                    }
                }
                Some(s?)
            }
            None => None,
        };
        let duration = match o.get("duration") {
            Some(n) => {
                Some(cx.parsed::<Duration>(n, &o.at("duration"), "a duration like `30s`")?)
            }
            None => None,
        };
        let until_aborted = match o.get("untilAborted") {
            Some(n) => cx.boolean(n, &o.at("untilAborted"))?,
            None => false,
        };
        let verify = match o.get("verify") {
            Some(n) => verify(cx, n, &o.at("verify"))?,
            None => Verify::on(),
        };
        let tgt = match o.get("target") {
            Some(n) => Some(target(cx, n, &o.at("target"))?),
            None => None,
        };
        let fault = fault?;
        self.check(cx, o, &fault, duration, until_aborted, tgt.as_ref())?;
        Some(Step::Fault(FaultStep {
            name,
            fault,
            duration,
            until_aborted,
            target: tgt,
            verify,
        }))
    }

    fn check(
        &self,
        cx: &mut Cx,
        o: &Obj<'_>,
        f: &FaultKind,
        duration: Option<Duration>,
        until_aborted: bool,
        tgt: Option<&Target>,
    ) -> Option<()> {
        let kind = f.name();
        let dur_pos = o.get("duration").map_or(o.pos, |n| n.pos);
        let mut ok = true;
        if until_aborted {
            let pos = o.get("untilAborted").map_or(o.pos, |n| n.pos);
            if f.is_instant() {
                cx.err_hint(
                    &o.at("untilAborted"),
                    pos,
                    format!("`{kind}` happens once and cannot hold until aborted"),
                    "remove `untilAborted`",
                );
                return None;
            }
            if duration.is_some() {
                cx.err_hint(
                    &o.at("untilAborted"),
                    pos,
                    "`untilAborted: true` and `duration` are both set",
                    "give one: `duration` to hold it that long, `untilAborted` to hold it until the run is aborted or `guard.maxDuration` passes",
                );
                return None;
            }
        }
        match (f.is_instant() || until_aborted, duration) {
            (true, Some(_)) => {
                cx.err_hint(
                    &o.at("duration"),
                    dur_pos,
                    format!("`{kind}` happens once and has no duration"),
                    "remove `duration`, or add a `suspend:` step after it to wait",
                );
                ok = false;
            }
            (false, None) => {
                cx.err_hint(
                    &o.at("duration"),
                    o.pos,
                    format!("`{kind}` holds until recovered and needs a `duration`"),
                    "add e.g. `duration: 30s` beside it (or `untilAborted: true` to hold it until the run is aborted, at most `guard.maxDuration`)",
                );
                ok = false;
            }
            (false, Some(d)) if d == Duration::ZERO => {
                cx.err(&o.at("duration"), dur_pos, "must be longer than 0s");
                ok = false;
            }
            _ => {}
        }
        let effective = match tgt {
            Some(Target::Kubernetes(_)) => DefaultTarget::Kubernetes,
            Some(Target::Local(_)) => DefaultTarget::Local,
            None => self.default,
        };
        let targets = f.decl().targets;
        if targets == Targets::Zone {
            // The zone is the target; a step `target` would say something it ignores.
            if let Some(n) = o.get("target") {
                cx.err_hint(
                    &o.at("target"),
                    n.pos,
                    format!("`{kind}` takes no `target`: its `zone` names the nodes"),
                    "remove `target` from this step",
                );
                return None;
            }
            return ok.then_some(());
        }
        if targets == Targets::Nodes
            && let Some(Target::Kubernetes(sel)) = tgt
            && !node_target(cx, o, kind, sel)
        {
            ok = false;
        }
        let pod_fault = matches!(targets, Targets::Pods | Targets::Nodes);
        match effective {
            DefaultTarget::None => {
                cx.err_hint(
                    &o.at("target"),
                    o.pos,
                    format!("`{kind}` has no target"),
                    "set `spec.target`, or a `target:` on this step",
                );
                ok = false;
            }
            DefaultTarget::Local if pod_fault => {
                let pos = o.get("target").map_or(o.pos, |n| n.pos);
                cx.err_hint(
                    &o.at("target"),
                    pos,
                    format!(
                        "`{kind}` acts on Kubernetes {} but the target is local",
                        if targets == Targets::Nodes {
                            "nodes"
                        } else {
                            "pods"
                        }
                    ),
                    if targets == Targets::Nodes {
                        "give this step a `target:` of nodes (`nodes`, `nodeSelectors`, `mode`)"
                    } else {
                        "give this step a Kubernetes `target:` (namespaces, labelSelectors, mode)"
                    },
                );
                ok = false;
            }
            _ => {}
        }
        ok.then_some(())
    }
}

impl StepReader for Steps {
    fn steps(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Step>> {
        match node.value {
            Value::Map(_) => self.step(cx, node, path).map(|s| vec![s]),
            _ => self.list(cx, node, path),
        }
    }

    fn unique_name(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let s = cx.nonempty(node, path)?;
        if self.names.contains(&s) {
            cx.err(
                path,
                node.pos,
                format!("step name `{s}` is used twice; names must be unique"),
            );
            return None;
        }
        self.names.push(s.clone());
        Some(s)
    }
}

/// `verify: false`, `verify: true`, or `verify: {within: 5s, minCoverage: 100%}`.
fn verify(cx: &mut Cx, n: &Node, path: &str) -> Option<Option<Verify>> {
    if let Some(ScalarKind::Bool(on)) = n.scalar().map(|s| s.kind) {
        return Some(if on { Verify::on() } else { None });
    }
    if !matches!(n.value, Value::Map(_)) {
        cx.expected(
            path,
            n,
            "false, true, or a map with fields within, minCoverage",
        );
        return None;
    }
    cx.object(n, path, &VERIFY, |cx, o| {
        let mut v = Verify::default();
        let mut ok = true;
        if let Some(w) = o.get("within") {
            match cx.parsed::<Duration>(w, &o.at("within"), "a duration like `5s`") {
                Some(d) if d == Duration::ZERO => {
                    cx.err(&o.at("within"), w.pos, "must be longer than 0s");
                    ok = false;
                }
                Some(d) => v.within = d,
                None => ok = false,
            }
        }
        if let Some(c) = o.get("minCoverage") {
            match cx.percent(c, &o.at("minCoverage")) {
                Some(p) if p.value() == 0.0 => {
                    cx.err_hint(
                        &o.at("minCoverage"),
                        c.pos,
                        "must be above 0%",
                        "to skip the check write `verify: false`",
                    );
                    ok = false;
                }
                Some(p) => v.min_coverage = p,
                None => ok = false,
            }
        }
        ok.then_some(Some(v))
    })
    .flatten()
}

/// A node kind's own `target`: nodes by name (`nodes`) and/or label (`nodeSelectors`),
/// and a `mode`; every pod field is refused, since no pod is selected.
fn node_target(cx: &mut Cx, o: &Obj<'_>, kind: &str, sel: &PodSelector) -> bool {
    let pos = o.get("target").map_or(o.pos, |n| n.pos);
    let pod_fields = [
        ("namespaces", !sel.namespaces.is_empty()),
        ("labelSelectors", !sel.label_selectors.is_empty()),
        ("expressionSelectors", !sel.expression_selectors.is_empty()),
        ("fieldSelectors", !sel.field_selectors.is_empty()),
        ("annotationSelectors", !sel.annotation_selectors.is_empty()),
        ("podPhaseSelectors", !sel.pod_phase_selectors.is_empty()),
        ("pods", !sel.pods.is_empty()),
    ];
    let given: Vec<&str> = pod_fields
        .iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| *f)
        .collect();
    if let Some(first) = given.first() {
        cx.err_hint(
            &join(&o.at("target"), first),
            pos,
            format!(
                "`{kind}` acts on nodes; `{}` select{} pods",
                given.join("`, `"),
                if given.len() == 1 { "s" } else { "" }
            ),
            "name the nodes with `nodes: [NAME]` or `nodeSelectors: {LABEL: VALUE}`",
        );
        return false;
    }
    if sel.nodes.is_empty() && sel.node_selectors.is_empty() {
        cx.err_hint(
            &o.at("target"),
            pos,
            format!("`{kind}` needs nodes: its `target` has no `nodes` or `nodeSelectors`"),
            "name the nodes with `nodes: [NAME]` or `nodeSelectors: {LABEL: VALUE}`",
        );
        return false;
    }
    true
}
