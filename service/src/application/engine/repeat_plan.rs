//! A `repeat:` step in the plan: its child's faults listed once, at the first time, each
//! saying when it comes again; the step takes its whole bound (its `deadline`, else
//! `guard.maxDuration`), as the engine waits out the bound.

use faultline_spec::{Experiment, Guard, Repeat};

use super::plan::{PlannedFault, label, walk as walk_step};

/// Adds the faults of `r` starting at `t`; returns how long the step takes.
pub(super) fn walk(
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
            .unwrap_or(Guard::DEFAULT_MAX_DURATION)
    });
    let mut child: Vec<PlannedFault> = Vec::new();
    walk_step(
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
