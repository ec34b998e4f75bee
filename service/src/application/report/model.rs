//! The report's data: what the verdict was, every check per phase, every fault window.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Comparison;
use crate::domain::GitlabContext;
use crate::domain::RunRow;
use crate::domain::{RunEvent, RunState, StoredEvent};

/// Schema version of the JSON report; bump on any incompatible change.
pub const REPORT_SCHEMA: &str = "faultline.dev/report/v1";

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: &'static str,
    /// Run id.
    pub run: String,
    /// Experiment name.
    pub experiment: String,
    /// Terminal state (or the current one while running).
    pub verdict: RunState,
    /// Why the run ended as it did.
    pub reason: String,
    /// When the run was created.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Wall time in seconds, once finished.
    pub duration_seconds: Option<f64>,
    /// One entry per check and phase, in first-seen order.
    pub checks: Vec<CheckSummary>,
    /// One entry per fault, in apply order.
    pub faults: Vec<FaultWindow>,
    /// One entry per fault step whose effect was read back (`verify:`), in order.
    pub verifications: Vec<Verification>,
    /// The GitLab event (project, commit, pipeline, merge request) that started the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<GitlabContext>,
    /// Every event.
    pub events: Vec<StoredEvent>,
}

/// A check's results in one phase.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSummary {
    /// Check name.
    pub check: String,
    /// before | during | after, or `step` for a status check (a `check:` step), whose
    /// `ok` is its decision.
    pub phase: String,
    /// The expectation as written.
    pub expect: String,
    /// Evaluations recorded.
    pub evaluations: u32,
    /// Of which not met.
    pub failures: u32,
    /// Lowest value measured.
    pub min: Option<f64>,
    /// Highest value measured.
    pub max: Option<f64>,
    /// Last value measured.
    pub last: Option<f64>,
    /// Last probe error, if any.
    pub last_error: Option<String>,
    /// Whether the check held in this phase. For `after`, the last evaluation decides
    /// (the value had to come back within the recovery window); elsewhere every one must.
    /// For a `during` entry with a comparison, the comparison decides.
    pub ok: bool,
    /// The statistical verdict of a check with `compare:`, on its `during` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// When a fault was active.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultWindow {
    /// Fault id.
    pub fault: String,
    /// Kind name.
    pub kind: String,
    /// Target as written.
    pub target: String,
    /// Step name.
    pub step: String,
    /// Applied at.
    pub started_at: DateTime<Utc>,
    /// Recovered at; `None` if the run ended without a recovery event.
    pub ended_at: Option<DateTime<Utc>>,
    /// How it was recovered.
    pub outcome: Option<String>,
    /// `verified` (its step's effect was seen), `unverified` (not seen in time: the run
    /// ended error), or `unchecked` (`verify: false`, or the run stopped before the check).
    pub state: &'static str,
    /// Its step's coverage, `affected/selected`, once read back.
    pub coverage: Option<String>,
    /// What was read on this target (the step's evidence when this target is not named
    /// in it), once read back.
    pub evidence: Option<String>,
}

/// A fault step's effect as read back after the apply.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Step name.
    pub step: String,
    /// Fault kind.
    pub kind: String,
    /// Whether it was seen on at least `verify.minCoverage` of the targets in time.
    pub verified: bool,
    /// Targets it was seen on.
    pub affected: usize,
    /// Targets selected.
    pub selected: usize,
    /// `affected/selected`.
    pub coverage: String,
    /// What was read, per target.
    pub evidence: String,
}

impl CheckSummary {
    /// A check in `phase` with nothing evaluated yet.
    fn empty(check: &str, phase: &str, expect: &str) -> CheckSummary {
        CheckSummary {
            check: check.to_string(),
            phase: phase.to_string(),
            expect: expect.to_string(),
            evaluations: 0,
            failures: 0,
            min: None,
            max: None,
            last: None,
            last_error: None,
            ok: true,
            comparison: None,
        }
    }
}

impl Report {
    /// Builds the report of `run` from its events.
    pub fn build(run: &RunRow, events: Vec<StoredEvent>) -> Report {
        let mut checks: Vec<CheckSummary> = Vec::new();
        let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut faults: Vec<FaultWindow> = Vec::new();
        let mut verifications: Vec<Verification> = Vec::new();
        for ev in &events {
            match &ev.event {
                RunEvent::CheckEvaluated {
                    check,
                    phase,
                    value,
                    expect,
                    ok,
                    error,
                } => {
                    let key = (check.clone(), phase.clone());
                    let i = *index.entry(key).or_insert_with(|| {
                        checks.push(CheckSummary::empty(check, phase, expect));
                        checks.len() - 1
                    });
                    let c = &mut checks[i];
                    c.evaluations += 1;
                    if !ok {
                        c.failures += 1;
                    }
                    c.ok = if phase == "after" { *ok } else { c.ok && *ok };
                    if let Some(v) = value {
                        c.min = Some(c.min.map_or(*v, |m| m.min(*v)));
                        c.max = Some(c.max.map_or(*v, |m| m.max(*v)));
                    }
                    c.last = *value;
                    if error.is_some() {
                        c.last_error = error.clone();
                    }
                }
                RunEvent::FaultApplied {
                    fault,
                    kind,
                    target,
                    step,
                    ..
                } => faults.push(FaultWindow {
                    fault: fault.clone(),
                    kind: kind.clone(),
                    target: target.clone(),
                    step: step.clone(),
                    started_at: ev.at,
                    ended_at: None,
                    outcome: None,
                    state: "unchecked",
                    coverage: None,
                    evidence: None,
                }),
                RunEvent::FaultVerified {
                    step,
                    kind,
                    affected,
                    selected,
                    evidence,
                }
                | RunEvent::FaultUnverified {
                    step,
                    kind,
                    affected,
                    selected,
                    evidence,
                } => {
                    let verified = matches!(ev.event, RunEvent::FaultVerified { .. });
                    let targets: Vec<String> = faults
                        .iter()
                        .filter(|w| &w.step == step)
                        .map(|w| w.target.clone())
                        .collect();
                    for w in faults.iter_mut().filter(|w| &w.step == step) {
                        w.state = if verified { "verified" } else { "unverified" };
                        w.coverage = Some(format!("{affected}/{selected}"));
                        w.evidence = Some(
                            target_evidence(evidence, &w.target, &targets)
                                .unwrap_or_else(|| evidence.clone()),
                        );
                    }
                    verifications.push(Verification {
                        step: step.clone(),
                        kind: kind.clone(),
                        verified,
                        affected: *affected,
                        selected: *selected,
                        coverage: format!("{affected}/{selected}"),
                        evidence: evidence.clone(),
                    });
                }
                RunEvent::FaultRecovered { fault, outcome } => {
                    if let Some(w) = faults
                        .iter_mut()
                        .rev()
                        .find(|w| &w.fault == fault && w.ended_at.is_none())
                    {
                        w.ended_at = Some(ev.at);
                        w.outcome = Some(outcome.clone());
                    }
                }
                RunEvent::CheckCompared { check, comparison } => {
                    let key = (check.clone(), "during".to_string());
                    let i = *index.entry(key).or_insert_with(|| {
                        checks.push(CheckSummary::empty(check, "during", ""));
                        checks.len() - 1
                    });
                    let c = &mut checks[i];
                    // The comparison is the during verdict; `expect` is shown for the eye.
                    c.ok = comparison.ok;
                    c.expect = format!("{} vs before", comparison.limit);
                    c.comparison = Some((**comparison).clone());
                }
                RunEvent::StatusCheckDecided {
                    check,
                    passed,
                    decision,
                    ..
                } => {
                    // The decision, not each answer, is the check's result: a check may
                    // pass after failed answers.
                    let key = (check.clone(), "step".to_string());
                    let i = *index.entry(key).or_insert_with(|| {
                        checks.push(CheckSummary::empty(check, "step", ""));
                        checks.len() - 1
                    });
                    checks[i].ok = *passed;
                    if !passed {
                        checks[i].last_error = Some(decision.clone());
                    }
                }
                RunEvent::StateChanged { .. }
                | RunEvent::Note { .. }
                | RunEvent::TaskFinished { .. } => {}
            }
        }
        Report {
            schema: REPORT_SCHEMA,
            run: run.id.clone(),
            experiment: run.experiment.clone(),
            verdict: run.state,
            reason: run.reason.clone(),
            started_at: run.created_at,
            finished_at: run.finished_at,
            duration_seconds: run
                .finished_at
                .map(|f| (f - run.created_at).num_milliseconds() as f64 / 1e3),
            checks,
            faults,
            verifications,
            gitlab: run.gitlab.clone(),
            events,
        }
    }
}

/// The part of a step's `evidence` (`TARGET: what; TARGET: what; ...`) about `target`:
/// from `target: ` to the next `; ` that starts another of the step's `targets`. `None`
/// when the evidence does not name it (past the targets shown one by one).
pub fn target_evidence(evidence: &str, target: &str, targets: &[String]) -> Option<String> {
    let head = format!("{target}: ");
    let start = if evidence.starts_with(&head) {
        head.len()
    } else {
        evidence.find(&format!("; {head}"))? + 2 + head.len()
    };
    let rest = &evidence[start..];
    let end = rest
        .match_indices("; ")
        .map(|(i, _)| i)
        .find(|&i| {
            let next = &rest[i + 2..];
            next.starts_with("and ")
                || targets
                    .iter()
                    .any(|t| t != target && next.starts_with(&format!("{t}: ")))
        })
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::Store;

    /// A finished run with one fault and a check that failed during it.
    pub(crate) fn sample_report() -> Report {
        let s = Store::open_in_memory().unwrap();
        s.create_run("r1", "checkout <stress> & co", "{}").unwrap();
        let go = |to| RunEvent::StateChanged {
            to,
            reason: String::new(),
        };
        let check = |phase: &str, value: f64, ok: bool| RunEvent::CheckEvaluated {
            check: "availability".into(),
            phase: phase.into(),
            value: Some(value),
            expect: ">= 0.99".into(),
            ok,
            error: None,
        };
        s.record("r1", &go(RunState::CheckingBefore)).unwrap();
        s.record("r1", &check("before", 1.0, true)).unwrap();
        s.record("r1", &go(RunState::Injecting)).unwrap();
        let applied = RunEvent::FaultApplied {
            fault: "f1".into(),
            kind: "networkDelay".into(),
            target: "netns web".into(),
            step: "delay".into(),
            // Stored before events named their agent: the report still reads.
            agent: String::new(),
            node: None,
        };
        s.record("r1", &applied).unwrap();
        s.record("r1", &go(RunState::Observing)).unwrap();
        s.record("r1", &check("during", 0.5, false)).unwrap();
        s.record("r1", &check("during", 0.97, false)).unwrap();
        s.record("r1", &go(RunState::Recovering)).unwrap();
        s.record(
            "r1",
            &RunEvent::FaultRecovered {
                fault: "f1".into(),
                outcome: "removed".into(),
            },
        )
        .unwrap();
        s.record("r1", &go(RunState::CheckingAfter)).unwrap();
        s.record("r1", &check("after", 0.9, false)).unwrap();
        s.record("r1", &check("after", 1.0, true)).unwrap();
        let end = RunEvent::StateChanged {
            to: RunState::Failed,
            reason: "availability failed during".into(),
        };
        s.record("r1", &end).unwrap();
        Report::build(&s.run("r1").unwrap(), s.events("r1").unwrap())
    }

    /// A run that ended error: step `delay` verified 1/1, step `kill` seen on 1 of its 2
    /// pods, and a `pause` step with `verify: false`.
    pub(crate) fn verified_report() -> Report {
        let s = Store::open_in_memory().unwrap();
        s.create_run("r3", "verify", "{}").unwrap();
        let applied = |fault: &str, kind: &str, target: &str, step: &str| RunEvent::FaultApplied {
            fault: fault.into(),
            kind: kind.into(),
            target: target.into(),
            step: step.into(),
            agent: "in-process".into(),
            node: None,
        };
        let events = [
            applied("f1-0", "networkDelay", "netns web", "delay"),
            RunEvent::FaultVerified {
                step: "delay".into(),
                kind: "networkDelay".into(),
                affected: 1,
                selected: 1,
                evidence: "netns web: qdisc netem delay 100ms on eth0, 42 packets".into(),
            },
            applied("f2-0", "processPause", "pid 7", "pause"),
            applied("f3-0", "podKill", "pod shop/web-0", "kill"),
            applied("f3-1", "podKill", "pod shop/web-1", "kill"),
            RunEvent::FaultUnverified {
                step: "kill".into(),
                kind: "podKill".into(),
                affected: 1,
                selected: 2,
                evidence: "pod shop/web-1: pod uid u1 still there, not terminating (phase Running); pod shop/web-0: pod is gone (404)".into(),
            },
            RunEvent::StateChanged {
                to: RunState::Error,
                reason: "fault did not take effect: step kill (podKill) seen on 1/2 target(s)".into(),
            },
        ];
        for e in &events {
            s.record("r3", e).unwrap();
        }
        Report::build(&s.run("r3").unwrap(), s.events("r3").unwrap())
    }

    #[test]
    fn each_fault_carries_its_state_coverage_and_evidence() {
        let r = verified_report();
        let got: Vec<_> = r
            .faults
            .iter()
            .map(|f| {
                (
                    f.target.as_str(),
                    f.state,
                    f.coverage.as_deref(),
                    f.evidence.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "netns web",
                    "verified",
                    Some("1/1"),
                    Some("qdisc netem delay 100ms on eth0, 42 packets")
                ),
                ("pid 7", "unchecked", None, None),
                (
                    "pod shop/web-0",
                    "unverified",
                    Some("1/2"),
                    Some("pod is gone (404)")
                ),
                (
                    "pod shop/web-1",
                    "unverified",
                    Some("1/2"),
                    Some("pod uid u1 still there, not terminating (phase Running)")
                ),
            ]
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["faults"][0]["coverage"], "1/1");
        assert_eq!(json["faults"][1]["coverage"], serde_json::Value::Null);
    }

    /// A finished run whose latency check with `compare:` got worse during the fault.
    pub(crate) fn compared_report() -> Report {
        use faultline_spec::compare::{Baseline, StatTest};
        use faultline_spec::{ChangeLimit, Compare};
        let s = Store::open_in_memory().unwrap();
        s.create_run("r2", "compare", "{}").unwrap();
        let spec = Compare {
            baseline: Baseline::Before,
            test: StatTest::MannWhitney,
            p: 0.05,
            limit: ChangeLimit::MaxIncrease(20.0),
            samples: 10,
        };
        let before: Vec<Option<f64>> = (0..12).map(|i| Some(0.010 + i as f64 * 1e-4)).collect();
        let mut during: Vec<Option<f64>> = (0..14).map(|i| Some(0.030 + i as f64 * 1e-3)).collect();
        during[0] = None;
        let comparison = crate::domain::compare::compare(&spec, Some("s"), &before, &during);
        let check = |phase: &str, value: f64| RunEvent::CheckEvaluated {
            check: "latency".into(),
            phase: phase.into(),
            value: Some(value),
            expect: "p99 < 1s".into(),
            ok: true,
            error: None,
        };
        for (to, ev) in [
            (RunState::CheckingBefore, Some(check("before", 0.011))),
            (RunState::Injecting, None),
            (RunState::Observing, Some(check("during", 0.04))),
            (RunState::Recovering, None),
        ] {
            let go = RunEvent::StateChanged {
                to,
                reason: String::new(),
            };
            s.record("r2", &go).unwrap();
            if let Some(ev) = ev {
                s.record("r2", &ev).unwrap();
            }
        }
        s.record(
            "r2",
            &RunEvent::CheckCompared {
                check: "latency".into(),
                comparison: Box::new(comparison),
            },
        )
        .unwrap();
        let end = RunEvent::StateChanged {
            to: RunState::Error,
            reason: "latency was worse during the faults than before".into(),
        };
        s.record("r2", &end).unwrap();
        Report::build(&s.run("r2").unwrap(), s.events("r2").unwrap())
    }

    #[test]
    fn a_comparison_decides_the_during_entry_and_is_in_the_json() {
        let r = compared_report();
        let during = r.checks.iter().find(|c| c.phase == "during").unwrap();
        assert!(!during.ok, "the comparison failed although `expect` held");
        assert_eq!(during.expect, "maxIncrease 20% vs before");
        let json = serde_json::to_value(&r).unwrap();
        let c = &json["checks"][1]["comparison"];
        assert_eq!(c["test"], "mann-whitney");
        assert_eq!(c["during"]["count"], 14);
        assert_eq!(c["during"]["failed"], 1);
        assert_eq!(c["baseline"]["values"].as_array().unwrap().len(), 12);
        assert!(c["p"].as_f64().unwrap() < 1e-4, "{c}");
        assert!(
            c["u"].as_f64().is_some() && c["change"].as_f64().unwrap() > 2.0,
            "{c}"
        );
        assert_eq!(c["unit"], "s");
        assert!(json["checks"][0].get("comparison").is_none());
    }

    #[test]
    fn each_fault_gets_its_own_part_of_the_step_evidence() {
        let targets = ["pod shop/web-0".to_string(), "pod shop/web-1".to_string()];
        let ev = "pod shop/web-1: pod uid u1 still there; not terminating; pod shop/web-0: pod is gone (404); ReplicaSet/web made replacement web-7";
        assert_eq!(
            target_evidence(ev, &targets[0], &targets).as_deref(),
            Some("pod is gone (404); ReplicaSet/web made replacement web-7")
        );
        assert_eq!(
            target_evidence(ev, &targets[1], &targets).as_deref(),
            Some("pod uid u1 still there; not terminating")
        );
        assert_eq!(target_evidence(ev, "pod shop/web-9", &targets), None);
        let cut = "pod shop/web-0: gone; and 3 more";
        assert_eq!(
            target_evidence(cut, &targets[0], &targets).as_deref(),
            Some("gone")
        );
    }

    #[test]
    fn checks_are_summarised_per_phase_and_faults_get_windows() {
        let r = sample_report();
        assert_eq!(r.verdict, RunState::Failed);
        assert_eq!(r.checks.len(), 3);
        let during = &r.checks[1];
        assert_eq!(
            (during.phase.as_str(), during.evaluations, during.failures),
            ("during", 2, 2)
        );
        assert_eq!(
            (during.min, during.max, during.ok),
            (Some(0.5), Some(0.97), false)
        );
        let after = &r.checks[2];
        assert!(
            after.ok,
            "after is judged by its last evaluation (came back in the window)"
        );
        assert_eq!(r.faults.len(), 1);
        assert_eq!(r.faults[0].outcome.as_deref(), Some("removed"));
        assert!(r.faults[0].ended_at.unwrap() >= r.faults[0].started_at);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema"], REPORT_SCHEMA);
        assert_eq!(json["verdict"], "failed");
    }
}
