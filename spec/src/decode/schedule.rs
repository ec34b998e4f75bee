//! `spec.schedule`: a cron string (UTC), or `{ cron, timezone, concurrencyPolicy,
//! startingDeadline, historyLimit }`.

use super::cx::{Cx, Obj, Schema};
use super::tree::Node;
use crate::schedule::Schedule;
use crate::schedule_policy::{ConcurrencyPolicy, SchedulePolicy};
use crate::units::Duration;
use crate::zone::parse_zone;

/// `spec.schedule` in its object form.
pub static SCHEDULE: Schema = Schema::new(&[
    ("cron", None),
    ("timezone", None),
    ("concurrencyPolicy", None),
    ("startingDeadline", None),
    ("historyLimit", None),
]);

/// Reads `spec.schedule`.
pub fn schedule(cx: &mut Cx, n: &Node, path: &str) -> Option<Schedule> {
    if n.scalar().is_some() {
        return cron(cx, n, path);
    }
    cx.object(n, path, &SCHEDULE, |cx, o| {
        let parsed = match o.get("cron") {
            Some(c) => cron(cx, c, &o.at("cron")),
            None => {
                cx.missing(
                    o,
                    "cron",
                    "a cron expression like `0 3 * * 1-5` or `@every 10m`",
                );
                None
            }
        };
        let zone = match o.get("timezone") {
            Some(z) => {
                let at = o.at("timezone");
                let name = cx.string(z, &at)?;
                Some(Some(
                    parse_zone(name.trim())
                        .map_err(|e| cx.err(&at, z.pos, e.to_string()))
                        .ok()?,
                ))
            }
            None => Some(None),
        };
        let policy = policy(cx, o);
        let (parsed, zone, policy) = (parsed?, zone?, policy?);
        if let (true, Some(z)) = (parsed.is_every(), o.get("timezone")) {
            cx.err_hint(
                &o.at("timezone"),
                z.pos,
                "`@every` counts from the Unix epoch and has no wall clock",
                "remove `timezone`, or write a cron expression to fire at local times",
            );
            return None;
        }
        let parsed = parsed.with_policy(policy);
        Some(match zone {
            Some(z) => parsed.in_zone(z),
            None => parsed,
        })
    })
    .flatten()
}

/// A cron expression (5 fields, 6-7 with seconds, `@daily`, `@every 2m`).
fn cron(cx: &mut Cx, n: &Node, path: &str) -> Option<Schedule> {
    let s = cx.string(n, path)?;
    Schedule::parse(&s)
        .map_err(|e| {
            cx.err_hint(
                path,
                n.pos,
                e.to_string(),
                "e.g. `0 3 * * *` runs at 03:00 every day, `@every 10m` every ten minutes",
            )
        })
        .ok()
}

/// `concurrencyPolicy`, `startingDeadline`, `historyLimit`.
fn policy(cx: &mut Cx, o: &Obj<'_>) -> Option<SchedulePolicy> {
    let concurrency = match o.get("concurrencyPolicy") {
        Some(n) => cx
            .one_of(n, &o.at("concurrencyPolicy"), &ConcurrencyPolicy::ALL_NAMES)
            .and_then(ConcurrencyPolicy::parse),
        None => Some(ConcurrencyPolicy::default()),
    };
    let starting_deadline = match o.get("startingDeadline") {
        Some(n) => {
            match cx.parsed::<Duration>(n, &o.at("startingDeadline"), "a duration like `30s`") {
                Some(d) if d == Duration::ZERO => {
                    cx.err_hint(
                    &o.at("startingDeadline"),
                    n.pos,
                    "must be longer than 0s",
                    "it is how late a time may still start a run, e.g. `1m`; leave it out to never make up a missed time",
                );
                    None
                }
                d => d.map(Some),
            }
        }
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
