//! A check's statistical verdict (opt-in): instead of a fixed threshold, the `during`
//! samples are compared with the `before` samples by a one-sided rank test, and the check
//! fails only when the faults made it significantly *and* materially worse.

use serde::{Deserialize, Serialize};

/// `compare: { baseline: before, maxIncrease: 20%, test: mann-whitney, p: 0.05 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Compare {
    /// The window the `during` samples are compared with.
    #[serde(default)]
    pub baseline: Baseline,
    /// The significance test.
    #[serde(default)]
    pub test: StatTest,
    /// Significance level: the check fails only when the test's p-value is below it.
    #[serde(default = "default_p")]
    pub p: f64,
    /// Which direction is worse and by how much the median may move that way.
    #[serde(flatten)]
    pub limit: ChangeLimit,
    /// Samples the baseline window takes, and the fewest the `during` window must have for
    /// a verdict.
    #[serde(default = "default_samples")]
    pub samples: u32,
}

/// Default significance level.
pub const fn default_p() -> f64 {
    0.05
}

/// Default samples per window: enough for the normal approximation to be good and for a
/// 20% shift of a noisy latency to show, short enough for a baseline of a few seconds.
pub const fn default_samples() -> u32 {
    20
}

/// Fewest samples per window accepted. With 4 per window the smallest one-sided p-value a
/// rank test can give is 1/70; fewer cannot show anything at the usual levels.
pub const MIN_SAMPLES: u32 = 5;
/// Most samples per window accepted for the baseline (it is taken before injecting).
pub const MAX_SAMPLES: u32 = 10_000;
/// Largest `maxIncrease`: ten times the baseline median is already an outage.
pub const MAX_INCREASE_PERCENT: f64 = 1000.0;

/// The window compared against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Baseline {
    /// The `before` phase's samples (the only one so far).
    #[default]
    Before,
}

impl Baseline {
    /// Every spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 1] = ["before"];
}

/// The significance test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StatTest {
    /// One-sided Mann-Whitney U (Wilcoxon rank-sum): no assumption about the shape of the
    /// distribution, which suits latencies (skewed, long-tailed).
    #[default]
    #[serde(rename = "mann-whitney")]
    MannWhitney,
}

impl StatTest {
    /// Every spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 1] = ["mann-whitney"];

    /// The name as written.
    pub const fn name(self) -> &'static str {
        match self {
            StatTest::MannWhitney => "mann-whitney",
        }
    }
}

/// Which way is worse, with the largest relative move of the median tolerated, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeLimit {
    /// Higher is worse (latency, error rate): the median may rise by this many percent.
    #[serde(with = "percent_text")]
    MaxIncrease(f64),
    /// Lower is worse (availability, throughput): the median may fall by this many percent.
    #[serde(with = "percent_text")]
    MaxDecrease(f64),
}

/// Written `"20%"`, as in the spec, so `validate --explain` prints what validates again.
mod percent_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v}%"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .strip_suffix('%')
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| D::Error::custom(format!("`{text}` is not a percentage like `20%`")))
    }
}

impl ChangeLimit {
    /// The limit as a signed fraction of the baseline median: +0.2 or -0.2.
    pub fn signed_fraction(self) -> f64 {
        match self {
            ChangeLimit::MaxIncrease(p) => p / 100.0,
            ChangeLimit::MaxDecrease(p) => -p / 100.0,
        }
    }

    /// True when higher values are worse.
    pub const fn higher_is_worse(self) -> bool {
        matches!(self, ChangeLimit::MaxIncrease(_))
    }

    /// The field name as written.
    pub const fn field(self) -> &'static str {
        match self {
            ChangeLimit::MaxIncrease(_) => "maxIncrease",
            ChangeLimit::MaxDecrease(_) => "maxDecrease",
        }
    }

    /// The percentage as written.
    pub const fn percent(self) -> f64 {
        match self {
            ChangeLimit::MaxIncrease(p) | ChangeLimit::MaxDecrease(p) => p,
        }
    }
}

impl std::fmt::Display for Compare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}% vs before ({}, p < {}, {} samples)",
            self.limit.field(),
            self.limit.percent(),
            self.test.name(),
            self.p,
            self.samples
        )
    }
}

/// The smallest one-sided p-value a rank test can reach with `n` samples in each window:
/// every `during` sample worse than every baseline sample, probability 1 / C(2n, n).
pub fn smallest_p(n: u32) -> f64 {
    // C(2n, n) as a running product in f64: exact enough, and no overflow for n <= 10 000
    // because the product only grows until it passes any p we compare it with.
    let mut c = 1.0_f64;
    for k in 1..=u64::from(n) {
        c = c * (u64::from(n) + k) as f64 / k as f64;
        if c > 1e300 {
            return 0.0;
        }
    }
    1.0 / c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_round_trip_through_json() {
        for limit in [
            ChangeLimit::MaxIncrease(20.0),
            ChangeLimit::MaxDecrease(5.0),
        ] {
            let c = Compare {
                baseline: Baseline::Before,
                test: StatTest::MannWhitney,
                p: 0.01,
                limit,
                samples: 30,
            };
            let json = serde_json::to_string(&c).unwrap();
            assert!(json.contains(limit.field()), "{json}");
            assert!(json.contains("%\""), "written as in the spec: {json}");
            assert!(json.contains("\"mann-whitney\""), "{json}");
            let back: Compare = serde_json::from_str(&json).unwrap();
            assert_eq!(back, c, "{json}");
        }
    }

    #[test]
    fn the_smallest_p_is_one_over_the_central_binomial() {
        assert!((smallest_p(3) - 1.0 / 20.0).abs() < 1e-12);
        assert!((smallest_p(5) - 1.0 / 252.0).abs() < 1e-12);
        assert_eq!(smallest_p(5000), 0.0);
    }
}
