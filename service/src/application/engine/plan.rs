//! What a run would inject, computed without touching anything: the dry-run answer, and
//! the input of the guard that refuses a run before injection (blast radius, protected
//! namespaces).

use faultline_spec::fault::Targets;
use faultline_spec::{Experiment, FaultKind, FaultStep, PodSelector, Repeat, Step, Target};

/// The `kind` of a task step's entry in the plan.
pub const TASK_KIND: &str = "task";
use serde::Serialize;

/// One fault the run would apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFault {
    /// Step path, e.g. `parallel#1.stressCpu#2`.
    pub step: String,
    /// Fault kind name.
    pub kind: String,
    /// The target as written (`pid 42`, `netns web`, `pods app=nginx in final (mode all)`).
    pub target: String,
    /// How long it holds; `None` for instant faults. For an `untilAborted` fault, its
    /// bound (`guard.maxDuration` or the default).
    pub duration: Option<String>,
    /// True when the fault holds until the run is aborted, `duration` being its bound.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub until_aborted: bool,
    /// Seconds from the start of the steps when it is applied (serial order; suspends
    /// included; parallel branches start together). Under `repeat:`, its first time.
    pub starts_at_seconds: f64,
    /// Only if a task's outcome picks its branch: `after task T: CONDITION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Under `repeat:`: when it is applied again (`repeat::describe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeats: Option<String>,
}

impl PlannedFault {
    /// How long it holds, as a person reads it: `30s`, `until aborted (at most 1h)`, or
    /// `instant` for a fault that happens once.
    pub fn holds(&self) -> String {
        let once = match (&self.duration, self.until_aborted) {
            (Some(d), _) if self.kind == TASK_KIND => format!("until it exits (at most {d})"),
            (Some(d), true) => format!("until aborted (at most {d})"),
            (Some(d), false) => d.clone(),
            (None, _) => "instant".into(),
        };
        match &self.repeats {
            Some(r) => format!("{once}, {r}"),
            None => once,
        }
    }
}

/// Every fault of `exp`, in the order the engine applies them.
pub fn plan(exp: &Experiment) -> Vec<PlannedFault> {
    let mut out = Vec::new();
    let mut t = 0.0;
    for (i, s) in exp.spec.steps.iter().enumerate() {
        t += walk(exp, s, &label(s, i), t, &mut out);
    }
    out
}

/// Adds the faults of `step` starting at `t`; returns how long the step takes.
fn walk(exp: &Experiment, step: &Step, path: &str, t: f64, out: &mut Vec<PlannedFault>) -> f64 {
    match step {
        Step::Fault(f) => {
            // An `untilAborted` fault is planned at its bound: the spec's
            // `guard.maxDuration`, else the default (the service's own setting, if it
            // differs, is only known to the run).
            let duration = f.duration.or_else(|| {
                f.until_aborted.then(|| {
                    exp.spec
                        .guard
                        .max_duration
                        .unwrap_or(faultline_spec::Guard::DEFAULT_MAX_DURATION)
                })
            });
            out.push(PlannedFault {
                step: path.to_string(),
                kind: f.fault.name().to_string(),
                target: describe_fault(f, f.target.as_ref().or(exp.spec.target.as_ref())),
                duration: duration.map(|d| d.to_string()),
                until_aborted: f.duration.is_none() && f.until_aborted,
                starts_at_seconds: t,
                condition: None,
                repeats: None,
            });
            duration.map_or(0.0, |d| d.std().as_secs_f64())
        }
        Step::Suspend(d) => d.std().as_secs_f64(),
        // At most its `for`; it may end sooner, once decided.
        Step::Check(c) => c.for_.map_or(0.0, |d| d.std().as_secs_f64()),
        Step::Task(task) => walk_task(exp, task, path, t, out),
        Step::Repeat(r) => walk_repeat(exp, r, path, t, out),
        Step::Serial(g) => {
            let mut elapsed = 0.0;
            for (i, c) in g.steps.iter().enumerate() {
                elapsed += walk(exp, c, &format!("{path}.{}", label(c, i)), t + elapsed, out);
            }
            bounded(elapsed, g)
        }
        Step::Parallel(g) => {
            let longest = g
                .steps
                .iter()
                .enumerate()
                .map(|(i, c)| walk(exp, c, &format!("{path}.{}", label(c, i)), t, out))
                .fold(0.0, f64::max);
            bounded(longest, g)
        }
    }
}

/// How long `step` takes in the plan's timing (a check: its `for`, at most).
pub fn step_seconds(exp: &Experiment, step: &Step) -> f64 {
    walk(exp, step, "", 0.0, &mut Vec::new())
}

/// A task step: one entry for its pod (held until the container exits, at most its
/// timeout), then the faults of every branch, each marked with the condition that must
/// hold for it to run. Which branches run is only known when the container exits, so all
/// are listed, starting when the task starts (its run time is unknown); the step is
/// planned to take as long as its longest branch.
fn walk_task(
    exp: &Experiment,
    task: &faultline_spec::TaskStep,
    path: &str,
    t: f64,
    out: &mut Vec<PlannedFault>,
) -> f64 {
    let ns = task
        .task
        .namespace
        .as_deref()
        .or(exp.metadata.namespace.as_deref());
    out.push(PlannedFault {
        step: path.to_string(),
        kind: TASK_KIND.into(),
        target: format!(
            "pod of {} in {}",
            task.task.container.image,
            ns.unwrap_or("default")
        ),
        duration: Some(task.task.timeout.to_string()),
        until_aborted: false,
        starts_at_seconds: t,
        condition: None,
        repeats: None,
    });
    let mut longest: f64 = 0.0;
    for (n, b) in task.task.branches.iter().enumerate() {
        let first = out.len();
        let branch = Step::Serial(b.then.clone().into());
        longest = longest.max(walk(
            exp,
            &branch,
            &format!("{path}.branch#{}", n + 1),
            t,
            out,
        ));
        for f in &mut out[first..] {
            f.condition
                .get_or_insert_with(|| format!("after task {path}: {}", b.when));
        }
    }
    task.deadline
        .map_or(longest, |d| longest.min(d.std().as_secs_f64()))
}

/// A `repeat:` step: its child's faults listed once, at the first time, each saying when
/// it comes again; the step takes its whole bound (its `deadline`, else
/// `guard.maxDuration`), as the engine waits out the bound.
fn walk_repeat(
    exp: &Experiment,
    r: &Repeat,
    path: &str,
    t: f64,
    out: &mut Vec<PlannedFault>,
) -> f64 {
    let bound = r.deadline.unwrap_or_else(|| {
        exp.spec
            .guard
            .max_duration
            .unwrap_or(faultline_spec::Guard::DEFAULT_MAX_DURATION)
    });
    let mut child: Vec<PlannedFault> = Vec::new();
    walk(
        exp,
        &r.step,
        &format!("{path}.{}", label(&r.step, 0)),
        t,
        &mut child,
    );
    let until = match r.deadline {
        Some(d) => format!("for {d}"),
        None => format!("until aborted (at most {bound})"),
    };
    let repeats = format!(
        "again at each time of `{}` {until} (concurrencyPolicy {})",
        r.schedule.as_str(),
        r.concurrency.as_str()
    );
    out.extend(child.into_iter().map(|f| PlannedFault {
        repeats: Some(repeats.clone()),
        ..f
    }));
    bound.std().as_secs_f64()
}

/// A group's time, cut at its deadline.
fn bounded(seconds: f64, g: &faultline_spec::Group) -> f64 {
    g.deadline
        .map_or(seconds, |d| seconds.min(d.std().as_secs_f64()))
}

/// What a fault step aims at: nodes for the node kinds, else its target.
fn describe_fault(f: &FaultStep, target: Option<&Target>) -> String {
    match &f.fault {
        FaultKind::ZoneOutage(z) => format!(
            "nodes {}={} (cut off from the other zones' nodes)",
            z.label, z.zone
        ),
        kind if kind.decl().targets == Targets::Nodes => match target {
            Some(Target::Kubernetes(sel)) => sel.describe_nodes(),
            other => describe(other),
        },
        _ => describe(target),
    }
}

fn describe(target: Option<&Target>) -> String {
    match target {
        None => "no target".into(),
        Some(Target::Local(l)) => l.to_string(),
        Some(Target::Kubernetes(sel)) => {
            let labels: Vec<String> = sel
                .label_selectors
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let ns = if sel.namespaces.is_empty() {
                "the experiment's namespace".to_string()
            } else {
                sel.namespaces.join(",")
            };
            format!("pods {} in {ns} (mode {:?})", labels.join(","), sel.mode)
        }
    }
}

/// The label the engine and reports use for a step at index `i` of its list.
pub fn label(step: &Step, i: usize) -> String {
    match step {
        Step::Fault(f) => f
            .name
            .clone()
            .unwrap_or_else(|| format!("{}#{}", f.fault.name(), i + 1)),
        Step::Parallel(_) => format!("parallel#{}", i + 1),
        Step::Serial(_) => format!("serial#{}", i + 1),
        Step::Suspend(d) => format!("suspend {d}"),
        Step::Check(c) => c.name.clone(),
        Step::Task(t) => t.name.clone().unwrap_or_else(|| format!("task#{}", i + 1)),
        Step::Repeat(_) => format!("repeat#{}", i + 1),
    }
}

/// Why the guard refuses a run before anything is injected, or `None`.
pub fn guard_refusal(exp: &Experiment) -> Option<String> {
    let g = &exp.spec.guard;
    let mut targets: Vec<&Target> = Vec::new();
    collect_targets(exp, &exp.spec.steps, &mut targets);
    for t in &targets {
        if let Target::Kubernetes(sel) = t
            && let Some(ns) = sel
                .namespaces
                .iter()
                .find(|ns| g.protected_namespaces.contains(ns))
        {
            return Some(format!(
                "guard: namespace `{ns}` is protected (spec.guard.protectedNamespaces)"
            ));
        }
    }
    if let Some(max) = g.max_targets {
        // Local targets are one target each; pod targets are counted when resolved.
        let local = targets
            .iter()
            .filter(|t| matches!(t, Target::Local(_)))
            .count();
        if local > max as usize {
            return Some(format!(
                "guard: {local} targets exceed spec.guard.maxTargets = {max}"
            ));
        }
    }
    None
}

/// Every distinct Kubernetes selector the steps aim at (for the cluster-mode guard).
pub fn kubernetes_targets(exp: &Experiment) -> Vec<&PodSelector> {
    let mut targets: Vec<&Target> = Vec::new();
    collect_targets(exp, &exp.spec.steps, &mut targets);
    targets.into_iter().filter_map(Target::kubernetes).collect()
}

/// Every distinct node selection of the node steps (nodeCordon, nodeTaint, nodeDrain),
/// for the cluster-mode guard over nodes.
pub fn node_targets(exp: &Experiment) -> Vec<&PodSelector> {
    let mut out: Vec<&PodSelector> = Vec::new();
    collect_node_targets(exp, &exp.spec.steps, &mut out);
    out
}

fn collect_node_targets<'e>(
    exp: &'e Experiment,
    steps: &'e [Step],
    out: &mut Vec<&'e PodSelector>,
) {
    for s in steps {
        match s {
            Step::Fault(f) if f.fault.decl().targets == Targets::Nodes => {
                if let Some(Target::Kubernetes(sel)) =
                    f.target.as_ref().or(exp.spec.target.as_ref())
                    && !out.contains(&sel)
                {
                    out.push(sel);
                }
            }
            Step::Fault(_) | Step::Suspend(_) | Step::Check(_) => {}
            Step::Serial(g) | Step::Parallel(g) => collect_node_targets(exp, &g.steps, out),
            Step::Repeat(r) => collect_node_targets(exp, std::slice::from_ref(&*r.step), out),
            Step::Task(t) => t
                .task
                .branches
                .iter()
                .for_each(|b| collect_node_targets(exp, &b.then, out)),
        }
    }
}

fn collect_targets<'e>(exp: &'e Experiment, steps: &'e [Step], out: &mut Vec<&'e Target>) {
    for s in steps {
        match s {
            // Node kinds aim at nodes (`node_targets`), never at the pods of a target.
            Step::Fault(f) if matches!(f.fault.decl().targets, Targets::Nodes | Targets::Zone) => {}
            Step::Fault(FaultStep { target, .. }) => {
                if let Some(t) = target.as_ref().or(exp.spec.target.as_ref())
                    && !out.contains(&t)
                {
                    out.push(t);
                }
            }
            Step::Serial(g) | Step::Parallel(g) => collect_targets(exp, &g.steps, out),
            Step::Suspend(_) | Step::Check(_) => {}
            Step::Repeat(r) => collect_targets(exp, std::slice::from_ref(&*r.step), out),
            Step::Task(t) => t
                .task
                .branches
                .iter()
                .for_each(|b| collect_targets(exp, &b.then, out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::load_str;

    fn exp(steps: &str, guard: &str) -> Experiment {
        let yaml = format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: p }}\nspec:\n  target: {{ local: {{ pid: 1 }} }}\n{guard}  steps:\n{steps}"
        );
        load_str(&yaml, "t.yaml")
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
    }

    #[test]
    fn the_plan_follows_serial_suspend_and_parallel_timing() {
        let e = exp(
            "    - stressCpu: { workers: 1, load: 50 }\n      duration: 10s\n    - suspend: 5s\n    - parallel:\n        - processPause: {}\n          duration: 3s\n        - stressMemory: { workers: 1, size: 1MiB }\n          duration: 7s\n    - processKill: {}\n",
            "",
        );
        let p = plan(&e);
        let got: Vec<(&str, f64)> = p
            .iter()
            .map(|f| (f.kind.as_str(), f.starts_at_seconds))
            .collect();
        assert_eq!(
            got,
            vec![
                ("stressCpu", 0.0),
                ("processPause", 15.0),
                ("stressMemory", 15.0),
                ("processKill", 22.0)
            ]
        );
        assert_eq!(p[0].target, "pid 1");
        assert_eq!(p[3].duration, None);
        assert_eq!(p[1].step, "parallel#3.processPause#1");
    }

    #[test]
    fn the_plan_bounds_groups_by_their_deadline_and_until_aborted_by_the_guard() {
        let e = exp(
            "    - deadline: 4s\n      serial:\n        - processPause: {}\n          duration: 10s\n    - stressCpu: { workers: 1, load: 50 }\n      untilAborted: true\n    - processKill: {}\n",
            "  guard: { maxDuration: 30s }\n",
        );
        let p = plan(&e);
        let got: Vec<(&str, f64, Option<&str>)> = p
            .iter()
            .map(|f| (f.kind.as_str(), f.starts_at_seconds, f.duration.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("processPause", 0.0, Some("10s")),
                ("stressCpu", 4.0, Some("30s")),
                ("processKill", 34.0, None)
            ]
        );
        // Without guard.maxDuration, the default hour.
        let e = exp(
            "    - stressCpu: { workers: 1, load: 50 }\n      untilAborted: true\n",
            "",
        );
        assert_eq!(plan(&e)[0].duration.as_deref(), Some("1h"));
        assert!(
            plan(&e)[0].until_aborted,
            "the plan says it holds until aborted"
        );
        assert!(!p[0].until_aborted, "a fault with a duration does not");
    }

    #[test]
    fn a_task_is_planned_with_every_branch_marked_by_its_condition() {
        let e = exp(
            "    - name: probe\n      task:\n        container: { image: busybox }\n        branches:\n          - when: exitCode == 0\n            then: [{ stressCpu: { workers: 1, load: 5 }, duration: 10s }]\n          - when: exitCode != 0\n            then: [{ suspend: 3s }, { processKill: {} }]\n    - processKill: {}\n",
            "",
        );
        let p = plan(&e);
        let got: Vec<(&str, &str, f64, Option<&str>)> = p
            .iter()
            .map(|f| {
                (
                    f.step.as_str(),
                    f.kind.as_str(),
                    f.starts_at_seconds,
                    f.condition.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("probe", "task", 0.0, None),
                (
                    "probe.branch#1.stressCpu#1",
                    "stressCpu",
                    0.0,
                    Some("after task probe: exitCode == 0")
                ),
                (
                    "probe.branch#2.processKill#2",
                    "processKill",
                    3.0,
                    Some("after task probe: exitCode != 0")
                ),
                ("processKill#2", "processKill", 10.0, None),
            ]
        );
        assert_eq!(p[0].holds(), "until it exits (at most 5m)");
        assert_eq!(p[0].target, "pod of busybox in default");
    }

    #[test]
    fn the_guard_names_the_limit_it_enforces() {
        let steps = "    - processPause: {}\n      duration: 1s\n      target: { local: { pid: 2 } }\n    - processPause: {}\n      duration: 1s\n";
        let e = exp(steps, "  guard: { maxTargets: 1 }\n");
        assert_eq!(
            guard_refusal(&e).unwrap(),
            "guard: 2 targets exceed spec.guard.maxTargets = 1"
        );
        assert_eq!(
            guard_refusal(&exp(steps, "  guard: { maxTargets: 2 }\n")),
            None
        );
    }
}
