//! The `check:` steps a run would carry out, with when each starts: the dry run shows
//! them beside the faults (`plan.rs`), with what their result does to the run.

use faultline_spec::{Experiment, Step};
use serde::Serialize;

use super::plan::{label, step_seconds};

/// One status check the run would carry out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedCheck {
    /// Step path, e.g. `parallel#1.health`.
    pub step: String,
    /// The check's name.
    pub check: String,
    /// Seconds from the start of the steps when it starts (the plan's timing).
    pub starts_at_seconds: f64,
    /// Its own time bound (`for`), if any; a group's deadline may end it sooner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    /// What it requests, how it is decided, and what a failure does to the run.
    pub explain: String,
}

/// Every `check:` step of `exp`, in order.
pub fn planned_checks(exp: &Experiment) -> Vec<PlannedCheck> {
    let mut out = Vec::new();
    let mut t = 0.0;
    for (i, s) in exp.spec.steps.iter().enumerate() {
        visit(exp, s, &label(s, i), t, &mut out);
        t += step_seconds(exp, s);
    }
    out
}

fn visit(exp: &Experiment, step: &Step, path: &str, t: f64, out: &mut Vec<PlannedCheck>) {
    let child = |c: &Step, i: usize| format!("{path}.{}", label(c, i));
    match step {
        Step::Check(c) => out.push(PlannedCheck {
            step: path.to_string(),
            check: c.name.clone(),
            starts_at_seconds: t,
            bound: c.for_.map(|d| d.to_string()),
            explain: c.explain(),
        }),
        Step::Serial(g) => {
            let mut elapsed = 0.0;
            for (i, c) in g.steps.iter().enumerate() {
                visit(exp, c, &child(c, i), t + elapsed, out);
                elapsed += step_seconds(exp, c);
            }
        }
        Step::Parallel(g) => {
            for (i, c) in g.steps.iter().enumerate() {
                visit(exp, c, &child(c, i), t, out);
            }
        }
        // A branch's checks are planned from the task's start, as its faults are: which
        // branch runs is only known when the container exits.
        Step::Task(task) => {
            for (n, b) in task.task.branches.iter().enumerate() {
                let branch = Step::Serial(b.then.clone().into());
                visit(exp, &branch, &format!("{path}.branch#{}", n + 1), t, out);
            }
        }
        // Listed once, at the first time, as the plan lists a repeat's faults.
        Step::Repeat(r) => visit(exp, &r.step, &child(&r.step, 0), t, out),
        Step::Fault(_) | Step::Suspend(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::load_str;

    #[test]
    fn checks_are_planned_with_their_start_and_what_a_failure_does() {
        let yaml = "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: { name: p }\nspec:\n  target: { local: { pid: 1 } }\n  steps:\n    - suspend: 5s\n    - parallel:\n        - check: { name: health, http: { url: \"http://127.0.0.1:9/\", status: \"200-299\" }, mode: continuous, for: 20s, abortRun: true }\n        - processPause: {}\n          duration: 10s\n";
        let exp = load_str(yaml, "t.yaml").unwrap().remove(0);
        let got = planned_checks(&exp);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].step, "parallel#2.health");
        assert_eq!(got[0].starts_at_seconds, 5.0);
        assert_eq!(got[0].bound.as_deref(), Some("20s"));
        assert_eq!(
            got[0].explain,
            "GET http://127.0.0.1:9/ every 1s expecting status 200-299, continuously; 3 consecutive failure(s) fail it; at 20s it passes only if the last 1 answer(s) succeeded; a failure aborts the run at once (faults recovered) and fails the verdict"
        );
    }
}
