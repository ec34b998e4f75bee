//! A check's `compare:` block: the statistical verdict of the `during` window against the
//! `before` window.

use super::cx::{Cx, Obj, Schema};
use super::tree::{Node, ScalarKind};
use crate::compare::*;
use crate::steady::{Phase, Probe};

/// `compare`'s fields.
pub static COMPARE: Schema = Schema::new(&[
    ("baseline", None),
    ("test", None),
    ("p", None),
    ("maxIncrease", None),
    ("maxDecrease", None),
    ("samples", None),
]);

/// Reads `compare` of a check whose probe and phases are already read (either may be
/// `None` when it had errors of its own; the checks that need it are then skipped).
pub fn compare(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    probe: Option<&Probe>,
    phases: Option<&[Phase]>,
) -> Option<Compare> {
    cx.object(node, path, &COMPARE, |cx, o| {
        let errors_before = cx.errors.len();
        let baseline = match o.get("baseline") {
            Some(n) => cx
                .one_of(n, &o.at("baseline"), &Baseline::ALL_NAMES)
                .map(|_| Baseline::Before),
            None => Some(Baseline::Before),
        };
        let test = match o.get("test") {
            Some(n) => cx
                .one_of(n, &o.at("test"), &StatTest::ALL_NAMES)
                .map(|_| StatTest::MannWhitney),
            None => Some(StatTest::MannWhitney),
        };
        let p = match o.get("p") {
            Some(n) => significance(cx, n, &o.at("p")),
            None => Some(default_p()),
        };
        let samples = match o.get("samples") {
            Some(n) => cx
                .int(
                    n,
                    &o.at("samples"),
                    i64::from(MIN_SAMPLES),
                    i64::from(MAX_SAMPLES),
                )
                .map(|s| s as u32),
            None => Some(default_samples()),
        };
        let limit = limit(cx, o, probe);
        if let (Some(p), Some(n)) = (p, samples)
            && p <= smallest_p(n)
        {
            let at = o.get("samples").or(o.get("p")).map_or(o.pos, |n| n.pos);
            let need = (n..=MAX_SAMPLES)
                .find(|k| smallest_p(*k) < p)
                .unwrap_or(MAX_SAMPLES);
            cx.err_hint(
                &o.at("samples"),
                at,
                format!("with {n} samples per window no result can reach p < {p}"),
                format!("take at least {need} samples, or raise `p`"),
            );
        }
        if let Some(ph) = phases
            && !(ph.contains(&Phase::Before) && ph.contains(&Phase::During))
        {
            cx.err_hint(
                path,
                o.pos,
                "compares the `during` samples with the `before` samples, so the check must run in both",
                "add `before` and `during` to `phases`",
            );
        }
        let c = Compare {
            baseline: baseline?,
            test: test?,
            p: p?,
            limit: limit?,
            samples: samples?,
        };
        (cx.errors.len() == errors_before).then_some(c)
    })
    .flatten()
}

fn significance(cx: &mut Cx, n: &Node, path: &str) -> Option<f64> {
    let p = cx.number(n, path)?;
    if p > 0.0 && p < 1.0 {
        Some(p)
    } else {
        cx.err_hint(
            path,
            n.pos,
            format!("{p} is not a significance level; allowed: above 0 and below 1"),
            "0.05 or 0.01 are usual",
        );
        None
    }
}

/// Exactly one of `maxIncrease` / `maxDecrease`, a percentage written with `%`.
fn limit(cx: &mut Cx, o: &Obj<'_>, probe: Option<&Probe>) -> Option<ChangeLimit> {
    match (o.get("maxIncrease"), o.get("maxDecrease")) {
        (Some(n), None) => percent(cx, n, &o.at("maxIncrease"), MAX_INCREASE_PERCENT, true)
            .map(ChangeLimit::MaxIncrease),
        (None, Some(n)) => {
            if let Some(Probe::Http(_)) = probe {
                cx.err_hint(
                    &o.at("maxDecrease"),
                    n.pos,
                    "an http check compares request latencies, where worse means slower",
                    "use `maxIncrease`, or compare an availability query of a `prometheus` check",
                );
                return None;
            }
            percent(cx, n, &o.at("maxDecrease"), 100.0, false).map(ChangeLimit::MaxDecrease)
        }
        (None, None) => {
            cx.err_hint(
                &o.path,
                o.pos,
                "needs how much worse the median may get",
                "add `maxIncrease: 20%` (higher is worse, e.g. latency) or `maxDecrease: 5%` (lower is worse, e.g. availability)",
            );
            None
        }
        (Some(_), Some(n)) => {
            cx.err(
                &o.at("maxDecrease"),
                n.pos,
                "has either `maxIncrease` or `maxDecrease`, not both",
            );
            None
        }
    }
}

/// `20%`: the `%` is required, since a bare `20` could be read as a fraction or a percent.
fn percent(cx: &mut Cx, n: &Node, path: &str, max: f64, max_included: bool) -> Option<f64> {
    let raw = match n.scalar() {
        Some(s) if matches!(s.kind, ScalarKind::Str) => s.raw.trim().to_string(),
        _ => {
            cx.err_hint(
                path,
                n.pos,
                format!(
                    "expected a percentage with a `%`, got {}",
                    n.scalar()
                        .map_or(n.type_name().to_string(), |s| format!("`{}`", s.raw))
                ),
                "write it like `20%`",
            );
            return None;
        }
    };
    let value = raw
        .strip_suffix('%')
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite());
    let Some(v) = value else {
        cx.err_hint(
            path,
            n.pos,
            format!("`{raw}` is not a percentage"),
            "write it like `20%`",
        );
        return None;
    };
    let in_range = v >= 0.0 && if max_included { v <= max } else { v < max };
    if !in_range {
        let upper = if max_included {
            format!("to {max}%")
        } else {
            format!("and below {max}%")
        };
        cx.err(
            path,
            n.pos,
            format!("{v}% is out of range; allowed 0% {upper}"),
        );
        return None;
    }
    Some(v)
}
