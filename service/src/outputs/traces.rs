//! OpenTelemetry traces of runs: one trace per run, built from its events with their own
//! timestamps. The root span `faultline.run` lasts from the first event seen to the
//! verdict; under it one span per state the run passes through (`checking-before`,
//! `injecting`, `observing`, `recovering`, `checking-after`) and one `faultline.fault` span
//! per fault from its FaultApplied to its FaultRecovered. Check evaluations and notes are
//! span events on the state span they happened in.
//!
//! Spans are exported when they end. A run this process never sees end (the service
//! crashed or was killed) leaves its root span open in memory, so it is never exported:
//! the state and fault spans that had already ended were sent and show up in a backend
//! under a parent that never arrives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use opentelemetry::global::{BoxedSpan, BoxedTracer};
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::engine::observe::{RunInfo, RunObserver};
use crate::engine::{RunEvent, RunState};

/// The instrumentation scope of these spans.
pub const SCOPE: &str = "faultline";
/// The root span's name.
pub const RUN_SPAN: &str = "faultline.run";
/// A fault span's name.
pub const FAULT_SPAN: &str = "faultline.fault";

/// A run still going: its root span (inside a context, to parent the others), the state
/// span open now and the faults applied and not yet recovered.
struct Live {
    root: Context,
    phase: Option<BoxedSpan>,
    faults: HashMap<String, BoxedSpan>,
    /// The latest time used so far. `during` checks are reported from their own task, so
    /// one stamped just before a state change can arrive just after it; times never go
    /// back within a run, so an event always lies inside the span it is attached to.
    last: SystemTime,
}

/// Builds a trace per run.
pub struct TraceObserver {
    tracer: BoxedTracer,
    runs: Mutex<HashMap<String, Live>>,
}

/// The GitLab attributes of a run a GitLab event started.
fn gitlab_attributes(run: &RunInfo) -> Vec<KeyValue> {
    let Some(g) = &run.gitlab else {
        return Vec::new();
    };
    let mut attrs = vec![
        KeyValue::new("gitlab.event", g.event.clone()),
        KeyValue::new("gitlab.project.path", g.project_path.clone()),
        KeyValue::new("gitlab.commit.sha", g.sha.clone()),
    ];
    if let Some(p) = g.pipeline_id {
        attrs.push(KeyValue::new("gitlab.pipeline.id", p as i64));
    }
    if let Some(mr) = g.mr_iid {
        attrs.push(KeyValue::new("gitlab.merge_request.iid", mr as i64));
    }
    if let Some(r) = &g.git_ref {
        attrs.push(KeyValue::new("gitlab.ref", r.clone()));
    }
    attrs
}

fn check_attributes(event: &RunEvent) -> Vec<KeyValue> {
    let RunEvent::CheckEvaluated {
        check,
        phase,
        value,
        expect,
        ok,
        error,
    } = event
    else {
        return Vec::new();
    };
    let mut attrs = vec![
        KeyValue::new("faultline.check", check.clone()),
        KeyValue::new("faultline.check.phase", phase.clone()),
        KeyValue::new("faultline.check.expect", expect.clone()),
        KeyValue::new("faultline.check.ok", *ok),
    ];
    if let Some(v) = value {
        attrs.push(KeyValue::new("faultline.check.value", *v));
    }
    if let Some(e) = error {
        attrs.push(KeyValue::new("faultline.check.error", e.clone()));
    }
    attrs
}

impl TraceObserver {
    /// An observer whose spans `tracer` exports
    /// (`faultline_exporter::Tracing::tracer(SCOPE)`).
    pub fn new(tracer: BoxedTracer) -> TraceObserver {
        TraceObserver {
            tracer,
            runs: Mutex::new(HashMap::new()),
        }
    }

    fn child(&self, live: &Live, name: String, at: SystemTime, attrs: Vec<KeyValue>) -> BoxedSpan {
        self.tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .with_start_time(at)
            .with_attributes(attrs)
            .start_with_context(&self.tracer, &live.root)
    }

    fn start_run(&self, run: &RunInfo, at: SystemTime) -> Live {
        let mut attrs = vec![
            KeyValue::new("faultline.run.id", run.id.clone()),
            KeyValue::new("faultline.experiment", run.experiment.clone()),
        ];
        attrs.extend(gitlab_attributes(run));
        let root = self
            .tracer
            .span_builder(RUN_SPAN)
            .with_kind(SpanKind::Internal)
            .with_start_time(at)
            .with_attributes(attrs)
            // A new trace: never a child of whatever span the caller has current.
            .start_with_context(&self.tracer, &Context::new());
        Live {
            root: Context::new().with_span(root),
            phase: None,
            faults: HashMap::new(),
            last: at,
        }
    }
}

/// Ends `live`'s trace with the verdict: open faults and the state span end now.
fn finish(mut live: Live, verdict: RunState, reason: &str, at: SystemTime) {
    for (_, mut f) in live.faults.drain() {
        f.set_attribute(KeyValue::new(
            "faultline.fault.outcome",
            "not reported recovered",
        ));
        f.end_with_timestamp(at);
    }
    if let Some(mut p) = live.phase.take() {
        p.end_with_timestamp(at);
    }
    let root = live.root.span();
    root.set_attribute(KeyValue::new("faultline.verdict", verdict.as_str()));
    if !reason.is_empty() {
        root.set_attribute(KeyValue::new("faultline.reason", reason.to_string()));
    }
    root.set_status(match verdict {
        RunState::Passed => Status::Ok,
        _ => Status::error(format!("{verdict}: {reason}")),
    });
    root.end_with_timestamp(at);
}

impl RunObserver for TraceObserver {
    fn observe(&self, run: &RunInfo, event: &RunEvent, at: DateTime<Utc>) {
        let at = SystemTime::from(at);
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if let RunEvent::StateChanged { to, reason } = event
            && to.is_terminal()
        {
            let live = match runs.remove(&run.id) {
                Some(l) => l,
                None => self.start_run(run, at),
            };
            let at = at.max(live.last);
            finish(live, *to, reason, at);
            return;
        }
        let live = runs
            .entry(run.id.clone())
            .or_insert_with(|| self.start_run(run, at));
        let at = at.max(live.last);
        live.last = at;
        match event {
            RunEvent::StateChanged { to, reason } => {
                if let Some(mut p) = live.phase.take() {
                    p.end_with_timestamp(at);
                }
                let mut attrs = vec![KeyValue::new("faultline.state", to.as_str())];
                if !reason.is_empty() {
                    attrs.push(KeyValue::new("faultline.reason", reason.clone()));
                }
                live.phase = Some(self.child(live, to.as_str().to_string(), at, attrs));
            }
            RunEvent::FaultApplied {
                fault,
                kind,
                target,
                step,
            } => {
                let attrs = vec![
                    KeyValue::new("faultline.fault.id", fault.clone()),
                    KeyValue::new("faultline.fault.kind", kind.clone()),
                    KeyValue::new("faultline.fault.target", target.clone()),
                    KeyValue::new("faultline.step", step.clone()),
                ];
                let span = self.child(live, FAULT_SPAN.to_string(), at, attrs);
                live.faults.insert(fault.clone(), span);
            }
            RunEvent::FaultRecovered { fault, outcome } => {
                if let Some(mut f) = live.faults.remove(fault) {
                    f.set_attribute(KeyValue::new("faultline.fault.outcome", outcome.clone()));
                    f.end_with_timestamp(at);
                }
            }
            RunEvent::CheckEvaluated { .. }
            | RunEvent::CheckCompared { .. }
            | RunEvent::Note { .. } => {
                let (name, attrs) = match event {
                    RunEvent::Note { message } => (
                        "note",
                        vec![KeyValue::new("faultline.note", message.clone())],
                    ),
                    RunEvent::CheckCompared { check, comparison } => (
                        "comparison",
                        vec![
                            KeyValue::new("faultline.check", check.clone()),
                            KeyValue::new("faultline.check.ok", comparison.ok),
                            KeyValue::new("faultline.check.comparison", comparison.reason.clone()),
                        ],
                    ),
                    _ => ("check", check_attributes(event)),
                };
                match &mut live.phase {
                    Some(p) => p.add_event_with_timestamp(name, at, attrs),
                    None => live.root.span().add_event_with_timestamp(name, at, attrs),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_runs_carry_project_commit_pipeline_and_merge_request() {
        let mut run = RunInfo {
            id: "r1".into(),
            experiment: "e".into(),
            gitlab: None,
        };
        assert!(gitlab_attributes(&run).is_empty());
        run.gitlab = Some(crate::gitlab::GitlabContext {
            event: "merge_request".into(),
            project_path: "g/app".into(),
            sha: "bcbb5ec3".into(),
            pipeline_id: Some(31),
            mr_iid: Some(7),
            ..Default::default()
        });
        let attrs = gitlab_attributes(&run);
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(get("gitlab.project.path"), Some("g/app".into()));
        assert_eq!(get("gitlab.commit.sha"), Some("bcbb5ec3".into()));
        assert_eq!(get("gitlab.pipeline.id"), Some(31i64.into()));
        assert_eq!(get("gitlab.merge_request.iid"), Some(7i64.into()));
        assert_eq!(get("gitlab.ref"), None);
    }

    #[test]
    fn a_check_without_a_value_says_why() {
        let attrs = check_attributes(&RunEvent::CheckEvaluated {
            check: "availability".into(),
            phase: "during".into(),
            value: None,
            expect: ">= 0.99".into(),
            ok: false,
            error: Some("connection refused".into()),
        });
        let keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
        assert!(!keys.contains(&"faultline.check.value"));
        assert!(keys.contains(&"faultline.check.error"));
    }
}
