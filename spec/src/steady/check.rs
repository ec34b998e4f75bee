//! A steady-state check: what is measured (a Prometheus query or an HTTP probe), what it
//! must satisfy, and in which phases.

use serde::{Deserialize, Serialize};

use super::expect::Expectation;
use crate::compare::Compare;
use crate::units::Duration;

/// One steady-state check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SteadyCheck {
    /// Unique name within the experiment; shown in reports and metrics.
    pub name: String,
    /// How the value is measured.
    #[serde(flatten)]
    pub probe: Probe,
    /// What the value must satisfy.
    pub expect: Expectation,
    /// When the check runs; default all three phases.
    #[serde(default = "Phase::all")]
    pub phases: Vec<Phase>,
    /// Safety bound: below this the run aborts and recovers at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_below: Option<f64>,
    /// Safety bound: above this the run aborts and recovers at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_above: Option<f64>,
    /// In the `after` phase, how long the value may take to come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_within: Option<Duration>,
    /// Opt-in statistical verdict for `during`: compared with the `before` samples instead
    /// of judged by `expect` (which still gates `before` and `after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Compare>,
}

/// A check's measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Probe {
    /// A PromQL expression that evaluates to one number.
    Prometheus(String),
    /// An HTTP request repeated every `every`.
    Http(HttpProbe),
}

/// An HTTP probe: each request succeeds when the status (and body) match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProbe {
    /// The URL to request (http or https).
    pub url: String,
    /// Request method; default GET.
    #[serde(default)]
    pub method: HttpMethod,
    /// Expected status code; default 200.
    #[serde(default = "default_status")]
    pub status: u16,
    /// The body must contain this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Interval between requests; default 1s.
    #[serde(default = "default_every")]
    pub every: Duration,
    /// Per-request timeout; default 2s.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
}

/// Default expected status of an HTTP probe.
pub const fn default_status() -> u16 {
    200
}

/// Default interval of an HTTP probe.
pub const fn default_every() -> Duration {
    Duration::from_secs(1)
}

/// Default timeout of an HTTP probe.
pub const fn default_timeout() -> Duration {
    Duration::from_secs(2)
}

/// HTTP methods a probe may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET (default).
    #[default]
    Get,
    /// HEAD.
    Head,
    /// POST with an empty body.
    Post,
}

impl HttpMethod {
    /// Every accepted spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 3] = ["GET", "HEAD", "POST"];

    /// Parses a method name, any case.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "HEAD" => HttpMethod::Head,
            "POST" => HttpMethod::Post,
            _ => return None,
        })
    }
}

/// When a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Before any fault: not steady means nothing is injected.
    Before,
    /// While faults are active.
    During,
    /// After recovery.
    After,
}

impl Phase {
    /// Every phase's spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 3] = ["before", "during", "after"];

    /// All three phases, the default.
    pub fn all() -> Vec<Phase> {
        vec![Phase::Before, Phase::During, Phase::After]
    }

    /// Parses a phase name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "before" => Phase::Before,
            "during" => Phase::During,
            "after" => Phase::After,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_round_trip_through_json() {
        for e in [">= 0.99", "p99 < 300ms", "0.9..1", "max <= 2s", "== 50%"] {
            let check = SteadyCheck {
                name: "c".into(),
                probe: Probe::Http(HttpProbe {
                    url: "http://127.0.0.1:8080/".into(),
                    method: HttpMethod::Head,
                    status: 204,
                    body_contains: Some("ok".into()),
                    every: default_every(),
                    timeout: default_timeout(),
                }),
                expect: e.parse().unwrap(),
                phases: vec![Phase::During],
                abort_below: Some(0.5),
                abort_above: None,
                recovery_within: Some(Duration::from_secs(30)),
                compare: Some(Compare {
                    baseline: crate::compare::Baseline::Before,
                    test: crate::compare::StatTest::MannWhitney,
                    p: 0.05,
                    limit: crate::compare::ChangeLimit::MaxIncrease(20.0),
                    samples: 20,
                }),
            };
            let json = serde_json::to_string(&check).unwrap();
            let back: SteadyCheck = serde_json::from_str(&json).unwrap();
            assert_eq!(back, check, "{json}");
        }
    }
}
