//! The statistical verdict of a check with `compare:`: the `during` samples against the
//! `before` samples. The check fails when the faults made it worse both significantly
//! (one-sided Mann-Whitney p below the spec's `p`) and materially (the median moved the
//! worse way by more than `maxIncrease` / `maxDecrease`): significance alone flags a
//! 1% shift given enough samples, a median move alone can be noise.

use faultline_spec::Compare;
use serde::{Deserialize, Serialize};

use super::mann_whitney;

/// Most samples per window kept in the persisted result (the test and the summary use all
/// of them): enough to draw a distribution, small enough for an event row.
pub const KEPT_SAMPLES: usize = 2000;

/// Five-number summary of one window. Failed measurements (a request that got no good
/// answer, a query without a value) count as the worst possible value in the test and the
/// quantiles, so an outage cannot look fast; a quantile that falls on one is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleSummary {
    /// Samples taken.
    pub count: usize,
    /// Of which failed.
    pub failed: usize,
    /// Lowest value.
    pub min: Option<f64>,
    /// First quartile.
    pub q1: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Third quartile.
    pub q3: Option<f64>,
    /// Highest value.
    pub max: Option<f64>,
    /// The successful values (the first [`KEPT_SAMPLES`]), for plotting.
    pub values: Vec<f64>,
}

/// The outcome of one comparison, as persisted in the run's events and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The test's name: `mann-whitney`.
    pub test: String,
    /// The limit as written: `maxIncrease 20%`.
    pub limit: String,
    /// Unit of the values: `s` for an http check's latencies, none for a query's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The `before` window.
    pub baseline: SampleSummary,
    /// The `during` window.
    pub during: SampleSummary,
    /// Mann-Whitney U of the `during` sample in the worse direction (pairs where during
    /// was worse than baseline, ties one half); `None` without enough samples.
    pub u: Option<f64>,
    /// One-sided p-value for "during is worse"; `None` without enough samples.
    pub p: Option<f64>,
    /// Whether `p` came from the exact distribution (small samples without ties).
    pub exact: bool,
    /// The significance level the spec set.
    pub alpha: f64,
    /// Relative change of the median, during vs baseline: 0.25 is 25% higher. `None`
    /// when undefined (a median that fell on a failure).
    pub change: Option<f64>,
    /// Whether the check held: not both significant and beyond the limit.
    pub ok: bool,
    /// One line for people: the medians, the change, U and p, and the verdict.
    pub reason: String,
}

/// Compares the `during` samples with the `baseline` samples under `spec`. A sample is
/// `None` when the measurement failed. With fewer than `spec.samples` values in either
/// window the check fails as inconclusive: a check that could not judge never passes.
pub fn compare(
    spec: &Compare,
    unit: Option<&str>,
    baseline: &[Option<f64>],
    during: &[Option<f64>],
) -> Comparison {
    let worse_up = spec.limit.higher_is_worse();
    // Failures rank as the worst value in the direction that matters.
    let worst = if worse_up {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let filled = |s: &[Option<f64>]| -> Vec<f64> { s.iter().map(|v| v.unwrap_or(worst)).collect() };
    let (b, d) = (filled(baseline), filled(during));
    let (bs, ds) = (summary(&b), summary(&d));
    let limit = format!("{} {}%", spec.limit.field(), spec.limit.percent());
    let need = spec.samples as usize;
    let fmt = |v: Option<f64>| show(v, unit);
    let mut out = Comparison {
        test: spec.test.name().to_string(),
        limit,
        unit: unit.map(str::to_string),
        baseline: bs,
        during: ds,
        u: None,
        p: None,
        exact: false,
        alpha: spec.p,
        change: None,
        ok: false,
        reason: String::new(),
    };
    if b.len() < need || d.len() < need {
        out.reason = format!(
            "inconclusive: {} before and {} during samples, {need} needed in each (make the faults last at least {need} probe intervals)",
            b.len(),
            d.len()
        );
        return out;
    }
    // The test asks "is during greater?"; for lower-is-worse, negate both.
    let r = if worse_up {
        mann_whitney::greater(&d, &b)
    } else {
        let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<_>>();
        mann_whitney::greater(&neg(&d), &neg(&b))
    };
    let (mb, md) = (median(&b), median(&d));
    let change = relative_change(mb, md);
    let significant = r.p < spec.p;
    let beyond = if worse_up {
        change > spec.limit.signed_fraction()
    } else {
        change < spec.limit.signed_fraction()
    };
    out.u = Some(r.u);
    out.p = Some(r.p);
    out.exact = r.exact;
    out.change = change.is_finite().then_some(change);
    out.ok = !(significant && beyond);
    let verdict = match (significant, beyond) {
        (true, true) => "worse".to_string(),
        (true, false) => format!("a significant change within {}", out.limit),
        (false, _) => format!("not significantly worse (p >= {})", spec.p),
    };
    out.reason = format!(
        "median {} -> {} ({}), {} U = {}, p = {:.3e}{}: {verdict}",
        fmt(finite(mb)),
        fmt(finite(md)),
        show_change(change),
        out.test,
        r.u,
        r.p,
        if significant {
            format!(" < {}", spec.p)
        } else {
            String::new()
        },
    );
    out
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// `(during - baseline) / |baseline|`; equal medians (even two failures) are no change.
fn relative_change(base: f64, during: f64) -> f64 {
    if base == during {
        0.0
    } else {
        (during - base) / base.abs()
    }
}

fn show_change(c: f64) -> String {
    if c.is_finite() {
        format!("{:+.1}%", c * 100.0)
    } else if c > 0.0 {
        "up to failing".into()
    } else {
        "down to failing".into()
    }
}

/// A value for people: latencies in ms, other values as they are.
pub fn show(v: Option<f64>, unit: Option<&str>) -> String {
    match (v, unit) {
        (None, _) => "failed".into(),
        (Some(v), Some("s")) => format!("{:.2} ms", v * 1e3),
        (Some(v), _) => format!("{v:.4}"),
    }
}

fn summary(values: &[f64]) -> SampleSummary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        (!sorted.is_empty())
            .then(|| quantile(&sorted, p))
            .and_then(finite)
    };
    SampleSummary {
        count: values.len(),
        failed: values.iter().filter(|v| !v.is_finite()).count(),
        min: q(0.0),
        q1: q(0.25),
        median: q(0.5),
        q3: q(0.75),
        max: q(1.0),
        values: values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .take(KEPT_SAMPLES)
            .collect(),
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, 0.5)
}

/// Linear interpolation between closest ranks (numpy's default), on sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    if lo == hi || sorted[lo] == sorted[hi] {
        sorted[lo]
    } else {
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::compare::{Baseline, StatTest};
    use faultline_spec::{ChangeLimit, Compare};

    fn spec(limit: ChangeLimit) -> Compare {
        Compare {
            baseline: Baseline::Before,
            test: StatTest::MannWhitney,
            p: 0.05,
            limit,
            samples: 10,
        }
    }

    fn ms(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(x / 1e3)).collect()
    }

    const BASE: [f64; 12] = [
        10.1, 9.8, 10.4, 10.0, 9.9, 10.2, 10.3, 9.7, 10.0, 10.1, 9.9, 10.5,
    ];

    #[test]
    fn a_slower_during_window_fails_with_its_values() {
        let slow: Vec<f64> = BASE.iter().map(|v| v * 1.5).collect();
        let c = compare(
            &spec(ChangeLimit::MaxIncrease(20.0)),
            Some("s"),
            &ms(&BASE),
            &ms(&slow),
        );
        assert!(!c.ok, "{c:?}");
        assert!(c.p.unwrap() < 0.001, "{c:?}");
        assert!((c.change.unwrap() - 0.5).abs() < 1e-9, "{c:?}");
        assert_eq!(c.u, Some(144.0), "every during sample is slower");
        assert!(
            c.reason.contains("median 10.05 ms -> 15.07 ms (+50.0%)"),
            "{}",
            c.reason
        );
        assert!(c.reason.ends_with("worse"), "{}", c.reason);
        assert_eq!(c.baseline.median, Some(0.01005));
    }

    #[test]
    fn significant_but_small_or_large_but_noisy_changes_pass() {
        // +5%: significant, but within maxIncrease 20%.
        let a_bit: Vec<f64> = BASE.iter().map(|v| v * 1.05).collect();
        let c = compare(
            &spec(ChangeLimit::MaxIncrease(20.0)),
            Some("s"),
            &ms(&BASE),
            &ms(&a_bit),
        );
        assert!(c.ok && c.p.unwrap() < 0.05, "{c:?}");
        assert!(c.reason.contains("within maxIncrease 20%"), "{}", c.reason);
        // The same values are no change at all.
        let c = compare(
            &spec(ChangeLimit::MaxIncrease(0.0)),
            None,
            &ms(&BASE),
            &ms(&BASE),
        );
        assert!(c.ok && c.p.unwrap() > 0.4, "{c:?}");
        assert_eq!(c.change, Some(0.0));
    }

    #[test]
    fn lower_is_worse_for_max_decrease() {
        let base: Vec<Option<f64>> = (0..12).map(|i| Some(100.0 + i as f64)).collect();
        let down: Vec<Option<f64>> = (0..12).map(|i| Some(60.0 + i as f64)).collect();
        let c = compare(&spec(ChangeLimit::MaxDecrease(10.0)), None, &base, &down);
        assert!(!c.ok && c.change.unwrap() < -0.3, "{c:?}");
        // Going up is not worse for a lower-is-worse check.
        let c = compare(&spec(ChangeLimit::MaxDecrease(10.0)), None, &down, &base);
        assert!(c.ok && c.p.unwrap() > 0.99, "{c:?}");
    }

    #[test]
    fn failures_are_the_worst_values_and_too_few_samples_are_inconclusive() {
        let mut failing = ms(&BASE);
        for s in failing.iter_mut().take(7) {
            *s = None;
        }
        let c = compare(
            &spec(ChangeLimit::MaxIncrease(20.0)),
            Some("s"),
            &ms(&BASE),
            &failing,
        );
        assert!(!c.ok, "{c:?}");
        assert_eq!(
            (c.during.failed, c.during.median, c.change),
            (7, None, None)
        );
        assert!(
            c.reason.contains("-> failed (up to failing)"),
            "{}",
            c.reason
        );
        assert_eq!(
            c.during.values.len(),
            5,
            "only successful values are plotted"
        );

        let c = compare(
            &spec(ChangeLimit::MaxIncrease(20.0)),
            Some("s"),
            &ms(&BASE),
            &ms(&BASE[..3]),
        );
        assert!(!c.ok && c.p.is_none(), "{c:?}");
        assert!(
            c.reason.starts_with("inconclusive: 12 before and 3 during"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let s = summary(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            (s.min, s.q1, s.median, s.q3, s.max),
            (Some(1.0), Some(1.75), Some(2.5), Some(3.25), Some(4.0))
        );
    }
}
