//! `check:` steps (Chaos Mesh's `StatusCheck`): one HTTP request every `every`, each
//! answer recorded (`CheckEvaluated`, phase `step`), until consecutive answers decide the
//! result or the step's time bound comes — its own `for`, or `until`, the deadline of the
//! groups around it (passed down as for every step; see `lifecycle.rs`).
//!
//! - `untilDecided`: `successThreshold` consecutive successes pass it, `failureThreshold`
//!   consecutive failures fail it; either ends the step.
//! - `continuous`: only `failureThreshold` consecutive failures end it early (failed).
//! - At its time bound, undecided: it passes only if its last `successThreshold` answers
//!   succeeded. Chaos Mesh's documentation calls a check unsuccessful when its node times
//!   out without a successful result; faultline judges the bound the same way.
//!
//! The result is a `StatusCheckDecided` event, persisted before anything else happens. A
//! failure fails the verdict, naming the check; the run goes on (a Chaos Mesh workflow
//! goes on too), unless `abortRun` (`abortWithStatusCheck`) is set: then the run is
//! aborted at once through its abort signal, so every active fault — a sibling's in a
//! `parallel` group included — is recovered exactly as for any abort, and the verdict is
//! `failed` rather than `aborted`: the system under test failed a check, nobody stopped it.

use faultline_spec::{CheckMode, CheckStep};
use tokio::time::Instant;

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::probes::{HttpProbe, HttpProbeError};
use crate::domain::RunEvent;

/// A check's result and how it came.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Passed(String),
    Failed(String),
}

/// The current streak of answers, and the result it decides.
struct Tally {
    mode: CheckMode,
    success_threshold: u32,
    failure_threshold: u32,
    successes: u32,
    failures: u32,
    answers: u32,
    last_error: Option<String>,
}

impl Tally {
    fn new(c: &CheckStep) -> Tally {
        Tally {
            mode: c.mode,
            success_threshold: c.success_threshold,
            failure_threshold: c.failure_threshold,
            successes: 0,
            failures: 0,
            answers: 0,
            last_error: None,
        }
    }

    /// Counts one answer; the result, once decided.
    fn push(&mut self, ok: bool, error: Option<String>) -> Option<Outcome> {
        self.answers += 1;
        if ok {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
            self.last_error = error;
        }
        if self.failures >= self.failure_threshold {
            return Some(Outcome::Failed(format!(
                "failed after {} consecutive failures ({})",
                self.failures,
                self.last_error.as_deref().unwrap_or("no answer")
            )));
        }
        if self.mode == CheckMode::UntilDecided && self.successes >= self.success_threshold {
            return Some(Outcome::Passed(format!(
                "passed after {} consecutive successes",
                self.successes
            )));
        }
        None
    }

    /// The result when the time bound comes first.
    fn at_bound(&self) -> Outcome {
        if self.answers > 0 && self.successes >= self.success_threshold {
            Outcome::Passed(format!(
                "deadline reached after {} answers; the last {} succeeded",
                self.answers, self.successes
            ))
        } else if self.answers == 0 {
            Outcome::Failed("deadline reached before any answer".into())
        } else {
            Outcome::Failed(format!(
                "deadline reached after {} answers without {} consecutive successes (the last {} failed: {})",
                self.answers,
                self.success_threshold,
                self.failures,
                self.last_error.as_deref().unwrap_or("no answer")
            ))
        }
    }
}

impl Runner {
    /// Runs a `check:` step to its result, ending by `until` at the latest.
    pub(super) async fn exec_check(
        &self,
        c: &CheckStep,
        label: String,
        until: Option<Instant>,
    ) -> Result<(), Stop> {
        if let Some(r) = self.aborted() {
            return Err(Stop::Aborted(r));
        }
        self.enter_observing(&label)?;
        let probe = probe(c).map_err(|source| {
            Stop::error(RunError::StatusCheck {
                step: label.clone(),
                source,
            })
        })?;
        let own = match (c.for_, c.mode) {
            (Some(d), _) => Some(d.std()),
            (None, CheckMode::Continuous) if until.is_none() => Some(self.at_most_max_duration(
                &label,
                &format!("continuous check {} has no `for`; it checks", c.name),
            )?),
            (None, _) => None,
        };
        let end = match (own.map(|d| Instant::now() + d), until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let expect = format!("status {}", c.http.status);
        let mut tally = Tally::new(c);
        let outcome = loop {
            let started = Instant::now();
            // A request cut at the bound is only dropped: it holds nothing to recover.
            let sample = tokio::select! {
                s = probe.sample() => s,
                _ = until_or_never(end) => break tally.at_bound(),
                r = self.abort_signal() => return Err(Stop::Aborted(r)),
            };
            self.record(RunEvent::CheckEvaluated {
                check: c.name.clone(),
                phase: "step".into(),
                value: sample.latency.map(|l| l.as_secs_f64()),
                expect: expect.clone(),
                ok: sample.ok,
                error: sample.error.clone(),
            })?;
            if let Some(o) = tally.push(sample.ok, sample.error) {
                break o;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(started + c.every.std()) => {}
                _ = until_or_never(end) => break tally.at_bound(),
                r = self.abort_signal() => return Err(Stop::Aborted(r)),
            }
        };
        self.decide(c, label, outcome)
    }

    /// Records the result; a failure fails the verdict, and with `abortRun` aborts the run.
    fn decide(&self, c: &CheckStep, label: String, outcome: Outcome) -> Result<(), Stop> {
        let (passed, how) = match outcome {
            Outcome::Passed(how) => (true, how),
            Outcome::Failed(how) => (false, how),
        };
        let effect = match (passed, c.abort_run) {
            (true, _) => "",
            (false, true) => {
                "; abortRun: the run is aborted at once, its faults recovered, and its verdict fails"
            }
            (false, false) => "; the run goes on, and its verdict fails",
        };
        self.record(RunEvent::StatusCheckDecided {
            check: c.name.clone(),
            step: label,
            passed,
            decision: format!("{how}{effect}"),
        })?;
        if passed {
            return Ok(());
        }
        let why = format!("status check `{}` {how}", c.name);
        if c.abort_run {
            self.status_checks.aborted_with(why.clone());
            self.abort_handle().abort(why.clone());
            // Another abort may have come first: that one is the run's reason.
            return Err(Stop::Aborted(self.aborted().unwrap_or(why)));
        }
        self.status_checks.failed(why);
        Ok(())
    }
}

/// The probe of `c`, through the steady-state checks' HTTP probe.
fn probe(c: &CheckStep) -> Result<HttpProbe, HttpProbeError> {
    let r = &c.http;
    let headers = r
        .headers
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| (name.clone(), v.clone())))
        .collect();
    Ok(
        HttpProbe::new(&r.url, r.method.name(), r.status.low, None, r.timeout.std())?
            .accepting(r.status.low, r.status.high)
            .sending(headers, r.body.clone()),
    )
}

/// Resolves at `end`, or never without one.
async fn until_or_never(end: Option<Instant>) {
    match end {
        Some(e) => tokio::time::sleep_until(e).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mode: &str, success: u32, failure: u32) -> CheckStep {
        serde_json::from_value(serde_json::json!({
            "name": "c",
            "http": { "url": "http://127.0.0.1:1/" },
            "mode": mode,
            "successThreshold": success,
            "failureThreshold": failure,
        }))
        .unwrap()
    }

    #[test]
    fn until_decided_ends_on_either_streak_and_a_success_resets_the_failures() {
        let mut t = Tally::new(&check("untilDecided", 2, 3));
        assert_eq!(t.push(false, Some("status 500, expected 200".into())), None);
        assert_eq!(t.push(true, None), None);
        assert_eq!(
            t.push(true, None),
            Some(Outcome::Passed(
                "passed after 2 consecutive successes".into()
            ))
        );
        let mut t = Tally::new(&check("untilDecided", 2, 2));
        t.push(false, Some("status 500, expected 200".into()));
        assert_eq!(
            t.push(false, Some("status 500, expected 200".into())),
            Some(Outcome::Failed(
                "failed after 2 consecutive failures (status 500, expected 200)".into()
            ))
        );
    }

    #[test]
    fn continuous_ends_early_only_on_failures_and_the_bound_judges_the_last_answers() {
        let mut t = Tally::new(&check("continuous", 1, 3));
        for _ in 0..5 {
            assert_eq!(t.push(true, None), None);
        }
        assert!(matches!(t.at_bound(), Outcome::Passed(_)));
        t.push(false, Some("timed out".into()));
        let Outcome::Failed(why) = t.at_bound() else {
            panic!("a failed last answer at the bound is not a success")
        };
        assert!(
            why.contains("without 1 consecutive successes (the last 1 failed: timed out)"),
            "{why}"
        );
        assert!(matches!(
            Tally::new(&check("continuous", 1, 3)).at_bound(),
            Outcome::Failed(w) if w == "deadline reached before any answer"
        ));
    }
}
