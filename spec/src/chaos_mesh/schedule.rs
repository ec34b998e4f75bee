//! Schedule: `kind: Schedule` (and a Workflow's `templateType: Schedule` node) runs one
//! embedded chaos or workflow at each time of a robfig/cron schedule. It becomes one native
//! experiment with `spec.schedule`; the embedded spec goes through the translator of its
//! `type`, so it is checked exactly as the stand-alone kind is.
//!
//! `concurrencyPolicy` (default Forbid) and `startingDeadlineSeconds` keep their meaning
//! (`spec.schedule.concurrencyPolicy`, `startingDeadline`). `historyLimit` is kept and
//! shown; faultline prunes no run, each run being the experiment's record.

use super::common::set_target;
use super::common::{Translated, document_schema};
use super::{dns, network, pod, stress};
use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::tree::Node;
use crate::experiment::{Group, Step};
use crate::schedule::Schedule;
use crate::schedule_policy::{ConcurrencyPolicy, SchedulePolicy};
use crate::selector::Target;
use crate::units::Duration;

/// A Schedule's `spec` (and a Workflow template's `schedule`).
pub static SPEC: Schema = Schema::new(&[
    ("schedule", None),
    ("type", None),
    ("historyLimit", None),
    ("concurrencyPolicy", None),
    ("startingDeadlineSeconds", None),
    ("stressChaos", Some(&stress::SPEC)),
    ("networkChaos", Some(&network::SPEC)),
    ("podChaos", Some(&pod::SPEC)),
    ("dnsChaos", Some(&dns::SPEC)),
    // Read by the Workflow translator handed in ([`EmbeddedWorkflow`]): a Workflow may
    // hold a Schedule node, so naming its schema here would make the two files import
    // each other.
    ("workflow", None),
]);

/// The Schedule document.
pub static ROOT: Schema = document_schema!(SPEC);

/// The `type`s faultline imports, with the field that holds each one's spec.
pub const TYPES: [(&str, &str); 5] = [
    ("StressChaos", "stressChaos"),
    ("NetworkChaos", "networkChaos"),
    ("PodChaos", "podChaos"),
    ("DNSChaos", "dnsChaos"),
    ("Workflow", "workflow"),
];

/// Reads an embedded Workflow `spec` at a path into steps (`workflow::embedded`).
pub type EmbeddedWorkflow = fn(&mut Cx, &Node, &str) -> Option<Vec<Step>>;

/// What a Schedule spec translates to.
pub struct Scheduled {
    /// When, with the policy.
    pub schedule: Schedule,
    /// The steps of each run.
    pub steps: Vec<Step>,
    /// The experiment-wide target (a chaos's selector; `None` for a workflow).
    pub target: Option<Target>,
}

/// Translates a Schedule `spec`.
pub fn translate(cx: &mut Cx, o: &Obj<'_>, workflow: EmbeddedWorkflow) -> Option<Scheduled> {
    let schedule = cron(cx, o);
    let policy = policy(cx, o);
    let embedded = embedded(cx, o, workflow);
    let (steps, target) = embedded?;
    Some(Scheduled {
        schedule: schedule?.with_policy(policy?),
        steps,
        target,
    })
}

/// The workflow template form: one step that repeats the embedded spec (each chaos step
/// carrying its selector) until the template's `deadline`.
pub fn repeat(
    cx: &mut Cx,
    o: &Obj<'_>,
    deadline: Option<Duration>,
    workflow: EmbeddedWorkflow,
) -> Option<Step> {
    let Scheduled {
        schedule,
        steps,
        target,
    } = translate(cx, o, workflow)?;
    let mut step = match <[Step; 1]>::try_from(steps) {
        Ok([one]) => one,
        Err(steps) => Step::Serial(Group::from(steps)),
    };
    if let Some(t) = &target {
        set_target(&mut step, t);
    }
    // The repeat carries the concurrency policy itself; its schedule is only the times
    // (the native `repeat.schedule` is a plain cron string).
    let concurrency = schedule.policy().concurrency;
    Some(Step::Repeat(crate::experiment::Repeat {
        concurrency,
        schedule: schedule.with_policy(SchedulePolicy::default()),
        step: Box::new(step),
        deadline,
    }))
}

fn cron(cx: &mut Cx, o: &Obj<'_>) -> Option<Schedule> {
    let Some(n) = o.get("schedule") else {
        cx.missing(
            o,
            "schedule",
            "a cron expression like `*/5 * * * *` or `@every 1m`",
        );
        return None;
    };
    let at = o.at("schedule");
    let s = cx.string(n, &at)?;
    Schedule::parse(&s)
        .map_err(|e| {
            cx.err_hint(
                &at,
                n.pos,
                e.to_string(),
                "robfig/cron's standard form: 5 fields (or 6 with seconds), `@hourly`, `@every 30s`",
            )
        })
        .ok()
}

/// `concurrencyPolicy`, `startingDeadlineSeconds`, `historyLimit`.
fn policy(cx: &mut Cx, o: &Obj<'_>) -> Option<SchedulePolicy> {
    let concurrency = match o.get("concurrencyPolicy") {
        Some(n) => cx
            .one_of(n, &o.at("concurrencyPolicy"), &ConcurrencyPolicy::ALL_NAMES)
            .and_then(ConcurrencyPolicy::parse),
        None => Some(ConcurrencyPolicy::Forbid),
    };
    // Chaos Mesh's CRD requires more than 0 for both.
    let starting_deadline = match o.get("startingDeadlineSeconds") {
        Some(n) if n.is_null() => Some(None),
        Some(n) => cx
            .int(n, &o.at("startingDeadlineSeconds"), 1, i64::from(u32::MAX))
            .map(|s| Some(Duration::from_secs(s as u64))),
        None => Some(None),
    };
    let history_limit = match o.get("historyLimit") {
        Some(n) => cx
            .int(n, &o.at("historyLimit"), 1, i64::from(u32::MAX))
            .map(|v| Some(v as u32)),
        None => Some(None),
    };
    Some(SchedulePolicy {
        concurrency: concurrency?,
        starting_deadline: starting_deadline?,
        history_limit: history_limit?,
    })
}

/// `type` and the spec it names, translated by that kind's translator.
fn embedded(
    cx: &mut Cx,
    o: &Obj<'_>,
    workflow: EmbeddedWorkflow,
) -> Option<(Vec<Step>, Option<Target>)> {
    let Some(tn) = o.get("type") else {
        cx.missing(
            o,
            "type",
            "the kind it runs: StressChaos, NetworkChaos, PodChaos, DNSChaos or Workflow",
        );
        return None;
    };
    let kind = cx.string(tn, &o.at("type"))?;
    let names: Vec<&str> = TYPES.iter().map(|(k, _)| *k).collect();
    let Some((kind, field)) = TYPES.iter().find(|(k, _)| *k == kind) else {
        cx.err_hint(
            &o.at("type"),
            tn.pos,
            format!(
                "type `{}` is not imported by faultline",
                crate::decode::cx::truncate(&kind)
            ),
            format!("a Schedule can run {}", names.join(", ")),
        );
        return None;
    };
    for (k, f) in TYPES {
        if k != *kind
            && let Some(n) = o.get(f)
        {
            cx.err_hint(
                &o.at(f),
                n.pos,
                format!("`{f}` does not apply to `type: {kind}`"),
                format!("set `type: {k}` or remove it"),
            );
            return None;
        }
    }
    let Some(n) = o.get(field) else {
        cx.missing(o, field, &format!("the {kind} spec"));
        return None;
    };
    let p = o.at(field);
    let chaos = |t: Option<Translated>| t.map(|t| (vec![t.step], Some(t.target)));
    match *kind {
        "StressChaos" => chaos(
            cx.object(n, &p, &stress::SPEC, |cx, s| stress::translate(cx, s, None))
                .flatten(),
        ),
        "NetworkChaos" => chaos(
            cx.object(n, &p, &network::SPEC, |cx, s| {
                network::translate(cx, s, None)
            })
            .flatten(),
        ),
        "PodChaos" => chaos(
            cx.object(n, &p, &pod::SPEC, |cx, s| pod::translate(cx, s, None))
                .flatten(),
        ),
        "DNSChaos" => chaos(
            cx.object(n, &p, &dns::SPEC, |cx, s| dns::translate(cx, s, None))
                .flatten(),
        ),
        _ => workflow(cx, n, &p).map(|steps| (steps, None)),
    }
}
