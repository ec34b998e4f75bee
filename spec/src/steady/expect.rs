//! The `expect` language: `">= 0.99"`, `"p99 < 300ms"`, `"0.9..1.0"`, parsed into an
//! [`Expectation`] that judges a measured value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A parsed `expect`: `">= 0.99"`, `"p99 < 300ms"`, `"0.9..1.0"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Expectation {
    /// Which number of the probe's samples is judged; `value` for a query's result.
    pub statistic: Statistic,
    /// The condition on it.
    pub condition: Condition,
}

/// Which number is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Statistic {
    /// The probe's value (a query's result; an HTTP probe's success ratio).
    Value,
    /// Median latency.
    P50,
    /// 90th percentile latency.
    P90,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// Mean latency.
    Mean,
    /// Highest latency.
    Max,
    /// Lowest latency.
    Min,
}

impl Statistic {
    /// Every statistic's spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 8] =
        ["value", "p50", "p90", "p95", "p99", "mean", "max", "min"];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "value" => Statistic::Value,
            "p50" => Statistic::P50,
            "p90" => Statistic::P90,
            "p95" => Statistic::P95,
            "p99" => Statistic::P99,
            "mean" => Statistic::Mean,
            "max" => Statistic::Max,
            "min" => Statistic::Min,
            _ => return None,
        })
    }

    const fn name(self) -> &'static str {
        Statistic::ALL_NAMES[self as usize]
    }

    /// True for the latency statistics of an HTTP probe.
    pub const fn is_latency(self) -> bool {
        !matches!(self, Statistic::Value)
    }
}

/// A comparison or a range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Condition {
    /// `OP threshold`.
    Compare {
        /// The comparison operator.
        op: Comparator,
        /// The number compared against.
        threshold: Threshold,
    },
    /// `low..high`, both ends included.
    Range {
        /// Lower bound.
        low: Threshold,
        /// Upper bound.
        high: Threshold,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparator {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Comparator {
    const TABLE: [(&'static str, Comparator); 6] = [
        (">=", Comparator::Ge),
        ("<=", Comparator::Le),
        ("==", Comparator::Eq),
        ("!=", Comparator::Ne),
        (">", Comparator::Gt),
        ("<", Comparator::Lt),
    ];

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        Comparator::TABLE
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("?", |(s, _)| s)
    }

    /// Whether `value OP threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparator::Ge => value >= threshold,
            Comparator::Gt => value > threshold,
            Comparator::Le => value <= threshold,
            Comparator::Lt => value < threshold,
            Comparator::Eq => value == threshold,
            Comparator::Ne => value != threshold,
        }
    }
}

/// A number with an optional unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The number as written.
    pub value: f64,
    /// Its unit, if any.
    pub unit: Option<ThresholdUnit>,
}

impl Threshold {
    /// The value in base units: seconds for latencies, a fraction for percentages.
    pub fn base(self) -> f64 {
        match self.unit {
            None | Some(ThresholdUnit::Seconds) => self.value,
            Some(ThresholdUnit::Millis) => self.value / 1000.0,
            Some(ThresholdUnit::Percent) => self.value / 100.0,
        }
    }
}

/// Units an `expect` threshold may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ThresholdUnit {
    /// Milliseconds (latency).
    Millis,
    /// Seconds (latency).
    Seconds,
    /// Percent (ratios).
    Percent,
}

impl Expectation {
    /// What an `expect` may look like; used in error messages.
    pub const SYNTAX: &'static str = "`[STAT] OP NUMBER[UNIT]` or `LOW..HIGH`, where STAT is one of value, p50, p90, \
         p95, p99, mean, max, min (latency statistics are for http probes), OP is one of >=, >, <=, <, ==, !=, and \
         UNIT is ms or s (latency) or % (ratios); e.g. `>= 0.99`, `p99 < 300ms`, `0.9..1.0`";

    /// Whether `value` (in base units) satisfies the expectation.
    pub fn holds(&self, value: f64) -> bool {
        match self.condition {
            Condition::Compare { op, threshold } => op.holds(value, threshold.base()),
            Condition::Range { low, high } => value >= low.base() && value <= high.base(),
        }
    }
}

/// Why an `expect` string is not an expectation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectationError {
    /// Nothing written.
    #[error("empty expectation")]
    Empty,
    /// A threshold that is not a number.
    #[error("`{0}` is not a number (with an optional unit ms, s or %)")]
    NotANumber(String),
    /// A threshold that is infinite or NaN.
    #[error("`{0}` is not a finite number")]
    NotFinite(String),
    /// `LOW..HIGH` with different units on each end.
    #[error("range `{0}` mixes units")]
    MixedUnits(String),
    /// `LOW..HIGH` with LOW above HIGH.
    #[error("range `{0}` is empty: its low end is above its high end")]
    EmptyRange(String),
    /// No `<`, `>`, `=` or `!` anywhere.
    #[error("`{0}` has no comparison operator")]
    NoOperator(String),
    /// A statistic name that is not one of value, p50, ...
    #[error("unknown statistic `{0}`")]
    UnknownStatistic(String),
    /// Operator characters that make no operator (`=>`).
    #[error("`{0}` does not start with a comparison operator")]
    BadOperator(String),
    /// A latency statistic with a threshold that is not a time.
    #[error("latency statistic `{0}` needs a time unit, like `300ms`")]
    NeedsTimeUnit(String),
    /// A time threshold on a plain value.
    #[error("a time unit needs a latency statistic, like `p99 < 300ms`")]
    NeedsLatencyStatistic,
}

fn parse_threshold(s: &str) -> Result<Threshold, ExpectationError> {
    let t = s.trim();
    let (num, unit) = if let Some(n) = t.strip_suffix("ms") {
        (n, Some(ThresholdUnit::Millis))
    } else if let Some(n) = t.strip_suffix('s') {
        (n, Some(ThresholdUnit::Seconds))
    } else if let Some(n) = t.strip_suffix('%') {
        (n, Some(ThresholdUnit::Percent))
    } else {
        (t, None)
    };
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| ExpectationError::NotANumber(t.to_string()))?;
    if !value.is_finite() {
        return Err(ExpectationError::NotFinite(t.to_string()));
    }
    Ok(Threshold { value, unit })
}

impl FromStr for Expectation {
    type Err = ExpectationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ExpectationError::Empty);
        }
        if let Some((lo, hi)) = t.split_once("..") {
            let (low, high) = (parse_threshold(lo)?, parse_threshold(hi)?);
            if low.unit != high.unit {
                return Err(ExpectationError::MixedUnits(t.to_string()));
            }
            if low.value > high.value {
                return Err(ExpectationError::EmptyRange(t.to_string()));
            }
            return Ok(Expectation {
                statistic: Statistic::Value,
                condition: Condition::Range { low, high },
            });
        }
        let op_at = t
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| ExpectationError::NoOperator(t.to_string()))?;
        let (stat, rest) = t.split_at(op_at);
        let stat = stat.trim();
        let statistic = if stat.is_empty() {
            Statistic::Value
        } else {
            Statistic::parse(stat)
                .ok_or_else(|| ExpectationError::UnknownStatistic(stat.to_string()))?
        };
        let (op, num) = Comparator::TABLE
            .iter()
            .find_map(|(sym, op)| rest.strip_prefix(sym).map(|n| (*op, n)))
            .ok_or_else(|| ExpectationError::BadOperator(rest.to_string()))?;
        let threshold = parse_threshold(num)?;
        match (statistic.is_latency(), threshold.unit) {
            (true, Some(ThresholdUnit::Millis | ThresholdUnit::Seconds)) => {}
            (true, _) => {
                return Err(ExpectationError::NeedsTimeUnit(stat.to_string()));
            }
            (false, Some(ThresholdUnit::Millis | ThresholdUnit::Seconds)) => {
                return Err(ExpectationError::NeedsLatencyStatistic);
            }
            (false, _) => {}
        }
        Ok(Expectation {
            statistic,
            condition: Condition::Compare { op, threshold },
        })
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            None => "",
            Some(ThresholdUnit::Millis) => "ms",
            Some(ThresholdUnit::Seconds) => "s",
            Some(ThresholdUnit::Percent) => "%",
        };
        write!(f, "{}{unit}", self.value)
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.condition {
            Condition::Range { low, high } => write!(f, "{low}..{high}"),
            Condition::Compare { op, threshold } => {
                if self.statistic != Statistic::Value {
                    write!(f, "{} ", self.statistic.name())?;
                }
                write!(f, "{} {threshold}", op.symbol())
            }
        }
    }
}

impl TryFrom<String> for Expectation {
    type Error = ExpectationError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Expectation> for String {
    fn from(e: Expectation) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_parse_every_form() {
        let e: Expectation = ">= 0.99".parse().unwrap();
        assert!(e.holds(0.995) && !e.holds(0.98));
        let e: Expectation = "p99 < 300ms".parse().unwrap();
        assert_eq!(e.statistic, Statistic::P99);
        assert!(e.holds(0.2) && !e.holds(0.3));
        let e: Expectation = "0.9..1.0".parse().unwrap();
        assert!(e.holds(0.95) && !e.holds(0.5));
        let e: Expectation = "!= 0".parse().unwrap();
        assert!(e.holds(1.0) && !e.holds(0.0));
        let e: Expectation = "value >= 99.5%".parse().unwrap();
        assert!(e.holds(0.996));
    }

    #[test]
    fn bad_expectations_say_why() {
        for (s, needle) in [
            ("", "empty"),
            ("0.99", "no comparison operator"),
            ("p42 < 1ms", "unknown statistic"),
            ("p99 < 300", "needs a time unit"),
            (">= 5ms", "needs a latency statistic"),
            ("=> 1", "does not start with"),
            (">= lots", "not a number"),
            ("1..0", "empty"),
        ] {
            let err = s.parse::<Expectation>().unwrap_err();
            assert!(err.to_string().contains(needle), "{s}: {err}");
        }
    }
}
