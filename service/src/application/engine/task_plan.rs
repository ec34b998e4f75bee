//! A task step in the plan: one entry for its pod (kind `task`, held until the container
//! exits, at most its timeout), then the faults of every branch, each marked with the
//! condition that must hold for it to run. Which branch runs is only known when the
//! container exits, so all are listed, starting when the task starts (its run time is
//! unknown), and the step is planned to take as long as its longest branch.

use faultline_spec::{Experiment, TaskStep};

use super::plan::{PlannedFault, label, walk};

/// The `kind` of a task's entry in the plan.
pub const TASK_KIND: &str = "task";

/// Adds the entries of task step `task` at `t`; returns how long it is planned to take.
pub(super) fn walk_task(
    exp: &Experiment,
    task: &TaskStep,
    path: &str,
    t: f64,
    out: &mut Vec<PlannedFault>,
) -> f64 {
    let ns = task
        .task
        .namespace
        .as_deref()
        .or(exp.metadata.namespace.as_deref())
        .unwrap_or("default");
    out.push(PlannedFault {
        step: path.to_string(),
        kind: TASK_KIND.into(),
        target: format!("pod of {} in {ns}", task.task.container.image),
        duration: Some(task.task.timeout.to_string()),
        until_aborted: false,
        starts_at_seconds: t,
        condition: None,
    });
    let mut longest: f64 = 0.0;
    for (n, b) in task.task.branches.iter().enumerate() {
        let branch = format!("{path}.branch#{}", n + 1);
        let first = out.len();
        let mut elapsed = 0.0;
        for (i, c) in b.then.iter().enumerate() {
            elapsed += walk(
                exp,
                c,
                &format!("{branch}.{}", label(c, i)),
                t + elapsed,
                out,
            );
        }
        for f in &mut out[first..] {
            f.condition
                .get_or_insert_with(|| format!("after task {path}: {}", b.when));
        }
        longest = longest.max(elapsed);
    }
    task.deadline
        .map_or(longest, |d| longest.min(d.std().as_secs_f64()))
}
