//! `repeat: { schedule, concurrencyPolicy, step }` with an optional `deadline:` beside it.

use super::cx::{Cx, Obj};
use super::steps::Steps;
use crate::experiment::{Repeat, Step};
use crate::schedule::Schedule;
use crate::schedule_policy::ConcurrencyPolicy;

use super::steps::REPEAT;
use crate::units::Duration;

impl Steps {
    /// Reads a `repeat:` step (`o` is the step holding it).
    pub(super) fn repeat(&mut self, cx: &mut Cx, o: &Obj<'_>) -> Option<Step> {
        let mut ok = true;
        for (k, key) in o.keys() {
            if ["name", "duration", "untilAborted", "target"].contains(&k) {
                cx.err_hint(
                    &o.at(k),
                    key.pos,
                    format!("`{k}` does not apply to a `repeat` step"),
                    "set it on the step inside `repeat.step`",
                );
                ok = false;
            }
        }
        let deadline = match o.get("deadline") {
            Some(n) => match cx.parsed::<Duration>(n, &o.at("deadline"), "a duration like `5m`") {
                Some(d) if d == Duration::ZERO => {
                    cx.err(&o.at("deadline"), n.pos, "must be longer than 0s");
                    None
                }
                d => d.map(Some),
            },
            None => Some(None),
        };
        let body = o.get("repeat")?;
        let path = o.at("repeat");
        let r = cx
            .object(body, &path, &REPEAT, |cx, b| self.body(cx, b))
            .flatten();
        let (schedule, concurrency, step) = r?;
        let deadline = deadline?;
        ok.then(|| {
            Step::Repeat(Repeat {
                schedule,
                concurrency,
                step: Box::new(step),
                deadline,
            })
        })
    }

    fn body(&mut self, cx: &mut Cx, b: &Obj<'_>) -> Option<(Schedule, ConcurrencyPolicy, Step)> {
        let schedule = match b.get("schedule") {
            Some(n) => {
                let at = b.at("schedule");
                cx.string(n, &at).and_then(|s| {
                    Schedule::parse(&s)
                        .map_err(|e| {
                            cx.err_hint(
                                &at,
                                n.pos,
                                e.to_string(),
                                "e.g. `@every 30s`, or a cron expression in UTC",
                            )
                        })
                        .ok()
                })
            }
            None => {
                cx.missing(
                    b,
                    "schedule",
                    "when each instance starts, e.g. `@every 30s`",
                );
                None
            }
        };
        let concurrency = match b.get("concurrencyPolicy") {
            Some(n) => cx
                .one_of(n, &b.at("concurrencyPolicy"), &ConcurrencyPolicy::ALL_NAMES)
                .and_then(ConcurrencyPolicy::parse),
            None => Some(ConcurrencyPolicy::default()),
        };
        let step = match b.get("step") {
            Some(n) => self.step(cx, n, &b.at("step")),
            None => {
                cx.missing(b, "step", "the step each instance runs");
                None
            }
        };
        Some((schedule?, concurrency?, step?))
    }
}
