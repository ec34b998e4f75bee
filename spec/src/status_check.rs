//! A status-check step (`check:`): an HTTP request repeated every `every`, each answer a
//! success or a failure, and the step's result decided by consecutive streaks, as Chaos
//! Mesh's `StatusCheck` decides it (its workflow template and its standalone kind import
//! as this step).
//!
//! What a result does to the run:
//! - passed: nothing; the run goes on.
//! - failed, `abortRun: false`: the run goes on (as a Chaos Mesh workflow does), but its
//!   verdict is `failed`, naming the check.
//! - failed, `abortRun: true`: the run stops at once; every active fault is recovered as
//!   for any abort, and the verdict is `failed`, naming the check.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::steady::HttpMethod;
use crate::units::Duration;

/// One `check:` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckStep {
    /// Unique among the steps; events, the report and the verdict name the check by it.
    pub name: String,
    /// The request and what a good answer is.
    pub http: StatusRequest,
    /// Time between the start of one request and the next; default 1s.
    #[serde(default = "default_every")]
    pub every: Duration,
    /// When the step ends before its time bound; default `untilDecided`.
    #[serde(default)]
    pub mode: CheckMode,
    /// The step's own time bound. Unset: an `untilDecided` check runs until decided, a
    /// `continuous` one until the deadline of the groups around it, at most
    /// `guard.maxDuration`. The groups' deadlines still end it when they come first.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    /// Consecutive successes that make the result `passed`; default 1.
    #[serde(default = "default_success_threshold")]
    pub success_threshold: u32,
    /// Consecutive failures that make the result `failed`; default 3.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// A failed result stops the run at once (Chaos Mesh's `abortWithStatusCheck`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abort_run: bool,
}

/// The request a status check sends, and the statuses that count as a success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusRequest {
    /// http or https URL.
    pub url: String,
    /// GET (default), HEAD or POST.
    #[serde(default)]
    pub method: HttpMethod,
    /// Request headers; a header may repeat (Chaos Mesh's `map[string][]string`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Request body (sent with POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The statuses that count as a success; default `200`.
    #[serde(default)]
    pub status: StatusCodes,
    /// A request with no answer within this is a failure; default 1s (Chaos Mesh's
    /// `timeoutSeconds` default).
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
}

/// When a status check ends before its time bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckMode {
    /// Ends as soon as `successThreshold` consecutive successes pass it or
    /// `failureThreshold` consecutive failures fail it (Chaos Mesh's `Synchronous`).
    #[default]
    UntilDecided,
    /// Keeps checking until its time bound; only `failureThreshold` consecutive failures
    /// end it early, failed (Chaos Mesh's `Continuous`).
    Continuous,
}

impl CheckMode {
    /// Every spelling, for error messages.
    pub const ALL_NAMES: [&'static str; 2] = ["untilDecided", "continuous"];

    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "untilDecided" => Some(CheckMode::UntilDecided),
            "continuous" => Some(CheckMode::Continuous),
            _ => None,
        }
    }
}

impl fmt::Display for CheckMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckMode::UntilDecided => "untilDecided",
            CheckMode::Continuous => "continuous",
        })
    }
}

/// The HTTP statuses a check accepts: one code (`200`) or an inclusive range
/// (`200-400`: 200 and 400 included), as Chaos Mesh's `criteria.statusCode` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCodes {
    /// Lowest accepted.
    pub low: u16,
    /// Highest accepted (equal to `low` for one code).
    pub high: u16,
}

impl StatusCodes {
    /// How the syntax reads, for hints.
    pub const SYNTAX: &'static str =
        "one status code like `200`, or an inclusive range like `200-400`, codes 100..=599";

    /// Whether `status` counts as a success.
    pub fn accepts(&self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }
}

impl Default for StatusCodes {
    fn default() -> Self {
        StatusCodes {
            low: 200,
            high: 200,
        }
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// Why a status-code text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusCodesError {
    /// Not a number, nor two numbers joined by `-`.
    #[error("not a status code nor a range of them")]
    Syntax,
    /// A code outside 100..=599.
    #[error("{0} is not an HTTP status code (100..=599)")]
    OutOfRange(u32),
    /// A range whose start is above its end.
    #[error("the range is empty: {0} is above {1}")]
    Empty(u16, u16),
}

impl FromStr for StatusCodes {
    type Err = StatusCodesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = |t: &str| -> Result<u16, StatusCodesError> {
            let t = t.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 6 {
                return Err(StatusCodesError::Syntax);
            }
            let n: u32 = t.parse().map_err(|_| StatusCodesError::Syntax)?;
            if (100..=599).contains(&n) {
                Ok(n as u16)
            } else {
                Err(StatusCodesError::OutOfRange(n))
            }
        };
        let (low, high) = match s.split_once('-') {
            Some((a, b)) => (code(a)?, code(b)?),
            None => {
                let c = code(s)?;
                (c, c)
            }
        };
        if low > high {
            return Err(StatusCodesError::Empty(low, high));
        }
        Ok(StatusCodes { low, high })
    }
}

impl Serialize for StatusCodes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusCodes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `200` may come as a number or a string.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Code(u32),
            Text(String),
        }
        let text = match Repr::deserialize(d)? {
            Repr::Code(n) => n.to_string(),
            Repr::Text(t) => t,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl CheckStep {
    /// What the check does and what its result does to the run, in one sentence: what
    /// `validate --explain`, the dry run and the check's events say.
    pub fn explain(&self) -> String {
        let until = match self.mode {
            CheckMode::UntilDecided => format!(
                "until {} consecutive success(es) pass it or {} consecutive failure(s) fail it",
                self.success_threshold, self.failure_threshold
            ),
            CheckMode::Continuous => format!(
                "continuously; {} consecutive failure(s) fail it",
                self.failure_threshold
            ),
        };
        let bound = match self.for_ {
            Some(d) => format!(
                "; at {d} it passes only if the last {} answer(s) succeeded",
                self.success_threshold
            ),
            None => String::new(),
        };
        format!(
            "{} {} every {} expecting status {}, {until}{bound}; {}",
            self.http.method.name(),
            self.http.url,
            self.every,
            self.http.status,
            self.on_failure()
        )
    }

    /// What a failed result does to the run.
    pub fn on_failure(&self) -> &'static str {
        if self.abort_run {
            "a failure aborts the run at once (faults recovered) and fails the verdict"
        } else {
            "a failure fails the verdict, and the run goes on"
        }
    }
}

impl HttpMethod {
    /// The method's name as HTTP spells it.
    pub const fn name(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Post => "POST",
        }
    }
}

/// Default time between requests of a native check.
pub const fn default_every() -> Duration {
    Duration::from_secs(1)
}

/// Default per-request timeout (Chaos Mesh's `timeoutSeconds` default).
pub const fn default_timeout() -> Duration {
    Duration::from_secs(1)
}

/// Default consecutive successes that pass a check (Chaos Mesh's default).
pub const fn default_success_threshold() -> u32 {
    1
}

/// Default consecutive failures that fail a check (Chaos Mesh's default).
pub const fn default_failure_threshold() -> u32 {
    3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_one_code_or_an_inclusive_range() {
        let r: StatusCodes = "200-400".parse().unwrap();
        assert!(r.accepts(200) && r.accepts(400) && !r.accepts(401) && !r.accepts(199));
        assert_eq!(r.to_string(), "200-400");
        assert_eq!("204".parse::<StatusCodes>().unwrap().to_string(), "204");
        assert_eq!(
            "400-200".parse::<StatusCodes>(),
            Err(StatusCodesError::Empty(400, 200))
        );
        assert_eq!(
            "200-700".parse::<StatusCodes>(),
            Err(StatusCodesError::OutOfRange(700))
        );
        assert_eq!("2xx".parse::<StatusCodes>(), Err(StatusCodesError::Syntax));
        assert_eq!("-200".parse::<StatusCodes>(), Err(StatusCodesError::Syntax));
    }

    #[test]
    fn a_check_round_trips_through_json() {
        let c = CheckStep {
            name: "health".into(),
            http: StatusRequest {
                url: "http://127.0.0.1:8080/".into(),
                method: HttpMethod::Post,
                headers: [("X-Probe".to_string(), vec!["1".to_string()])].into(),
                body: Some("{}".into()),
                status: "200-299".parse().unwrap(),
                timeout: default_timeout(),
            },
            every: default_every(),
            mode: CheckMode::Continuous,
            for_: Some(Duration::from_secs(20)),
            success_threshold: 2,
            failure_threshold: 3,
            abort_run: true,
        };
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""for":"20s""#), "{json}");
        assert!(json.contains(r#""status":"200-299""#), "{json}");
        assert_eq!(serde_json::from_str::<CheckStep>(&json).unwrap(), c);
    }
}
