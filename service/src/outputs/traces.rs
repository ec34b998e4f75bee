//! OpenTelemetry traces of runs: one trace per run, built from its events with their own
//! timestamps. The root span `faultline.run` lasts from the first event seen to the
//! verdict. Under it:
//!
//! - one span per state the run passes through (`checking-before`, `injecting`,
//!   `observing`, `recovering`, `checking-after`), notes as their span events;
//! - one `faultline.fault` span per fault record, from just before its apply call to its
//!   FaultRecovered, with its kind, target, step and the agent that applied it;
//! - one `check NAME` span per steady-state check and phase, from the start of the state
//!   it was first measured in to its last evaluation; its first evaluation and every
//!   change between met and missed are span events on it, and its attributes count every
//!   evaluation, how many missed the expectation (status error if any did), the last
//!   value and the range. A
//!   `compare:` check's comparison is an event on its `during` span and is that span's
//!   verdict.
//!
//! A fault's span is opened *before* its apply call ([`FaultTraces`]), because the call to
//! a node agent carries the span as its W3C `traceparent`: the agent's own spans
//! (`faultline.agent.apply`, ...) become its children. The first record of a request takes
//! that span; further records of the same request (one request per node in cluster mode)
//! get spans of their own, so an agent's spans hang under the request's first record.
//!
//! Spans are exported when they end. A run this process never sees end (the service
//! crashed or was killed) leaves its root span open in memory, so it is never exported:
//! the state and fault spans that had already ended were sent and show up in a backend
//! under a parent that never arrives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use faultline_exporter::TraceParent;
use opentelemetry::global::{BoxedSpan, BoxedTracer};
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::application::ports::observe::{FaultTraces, RunInfo, RunObserver};
use crate::domain::{RunEvent, RunState, task_summary};

/// The instrumentation scope of these spans.
pub const SCOPE: &str = "faultline";
/// The root span's name.
pub const RUN_SPAN: &str = "faultline.run";
/// A fault span's name.
pub const FAULT_SPAN: &str = "faultline.fault";
/// The name of a check's span is this prefix and the check's name.
pub const CHECK_SPAN_PREFIX: &str = "check ";

/// One check in one phase: its span and what its evaluations found so far.
struct CheckSpan {
    span: BoxedSpan,
    last: SystemTime,
    evaluations: i64,
    failures: i64,
    /// The last evaluation's outcome: only changes become span events.
    last_ok: Option<bool>,
    value: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    expect: String,
    error: Option<String>,
    /// A `compare:` check's verdict on its `during` window (ok, why), which replaces
    /// `expect` as that span's verdict.
    compared: Option<(bool, String)>,
}

/// A run still going: its root span (inside a context, to parent the others), the state
/// span open now, the faults applied and not yet recovered, and the check spans.
struct Live {
    root: Context,
    phase: Option<BoxedSpan>,
    /// When the state span open now started (a check first measured in it starts there).
    phase_start: SystemTime,
    faults: HashMap<String, BoxedSpan>,
    /// Spans opened before an apply call, by request id, until a record takes them.
    opened: HashMap<String, BoxedSpan>,
    /// The span context of every fault request opened, for its renewals and recovery.
    requests: HashMap<String, TraceParent>,
    /// By (check, phase).
    checks: HashMap<(String, String), CheckSpan>,
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

/// The attributes of one evaluation (a span event on its check's span).
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

/// The request a fault record belongs to: record ids are `<request>-<n>`.
fn request_of(record: &str) -> Option<&str> {
    record
        .rsplit_once('-')
        .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map(|(req, _)| req)
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
            phase_start: at,
            faults: HashMap::new(),
            opened: HashMap::new(),
            requests: HashMap::new(),
            checks: HashMap::new(),
            last: at,
        }
    }

    /// Adds one evaluation to its check's span, opening the span on the first.
    fn check_evaluated(&self, live: &mut Live, event: &RunEvent, at: SystemTime) {
        let RunEvent::CheckEvaluated {
            check,
            phase,
            value,
            expect,
            ok,
            error,
        } = event
        else {
            return;
        };
        let key = (check.clone(), phase.clone());
        if !live.checks.contains_key(&key) {
            let attrs = vec![
                KeyValue::new("faultline.check", check.clone()),
                KeyValue::new("faultline.check.phase", phase.clone()),
                KeyValue::new("faultline.check.expect", expect.clone()),
            ];
            let start = live.phase_start.min(at);
            let span = self.child(live, format!("{CHECK_SPAN_PREFIX}{check}"), start, attrs);
            live.checks.insert(
                key.clone(),
                CheckSpan {
                    span,
                    last: at,
                    evaluations: 0,
                    failures: 0,
                    last_ok: None,
                    value: None,
                    min: None,
                    max: None,
                    expect: expect.clone(),
                    error: None,
                    compared: None,
                },
            );
        }
        let Some(c) = live.checks.get_mut(&key) else {
            return;
        };
        // A `during` check is measured every second or so for the whole fault window:
        // an event per evaluation would be noise and hit the SDK's 128 events per span
        // (OTEL_SPAN_EVENT_COUNT_LIMIT), dropping the later ones. The first evaluation
        // and every change between met and missed are events; the counts, last value
        // and range cover them all.
        if c.last_ok != Some(*ok) {
            c.span
                .add_event_with_timestamp("evaluation", at, check_attributes(event));
            c.last_ok = Some(*ok);
        }
        c.last = at;
        c.evaluations += 1;
        if !ok {
            c.failures += 1;
        }
        if let Some(v) = *value {
            c.value = Some(v);
            c.min = Some(c.min.map_or(v, |m| m.min(v)));
            c.max = Some(c.max.map_or(v, |m| m.max(v)));
        }
        if error.is_some() {
            c.error.clone_from(error);
        }
    }
}

/// Ends a check's span at its last evaluation, with what all of them found.
fn end_check(mut c: CheckSpan) {
    c.span
        .set_attribute(KeyValue::new("faultline.check.evaluations", c.evaluations));
    c.span
        .set_attribute(KeyValue::new("faultline.check.failures", c.failures));
    let ok = c.compared.as_ref().map_or(c.failures == 0, |(ok, _)| *ok);
    c.span
        .set_attribute(KeyValue::new("faultline.check.ok", ok));
    for (key, v) in [
        ("faultline.check.value", c.value),
        ("faultline.check.value.min", c.min),
        ("faultline.check.value.max", c.max),
    ] {
        if let Some(v) = v {
            c.span.set_attribute(KeyValue::new(key, v));
        }
    }
    if let Some(e) = c.error {
        c.span
            .set_attribute(KeyValue::new("faultline.check.error", e));
    }
    c.span.set_status(match &c.compared {
        Some((true, _)) => Status::Ok,
        Some((false, why)) => Status::error(why.clone()),
        None if c.failures == 0 => Status::Ok,
        None => Status::error(format!(
            "{} of {} evaluations missed `{}`",
            c.failures, c.evaluations, c.expect
        )),
    });
    c.span.end_with_timestamp(c.last);
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
    for (_, mut f) in live.opened.drain() {
        // Opened for an apply call that never reported a record: it failed.
        f.set_attribute(KeyValue::new("faultline.fault.outcome", "not applied"));
        f.set_status(Status::error("the apply call failed or never returned"));
        f.end_with_timestamp(at);
    }
    for (_, c) in live.checks.drain() {
        end_check(c);
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

impl FaultTraces for TraceObserver {
    fn fault_starting(&self, run: &RunInfo, request: &str) -> Option<TraceParent> {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let now = SystemTime::now();
        let live = runs
            .entry(run.id.clone())
            .or_insert_with(|| self.start_run(run, now));
        let at = now.max(live.last);
        live.last = at;
        let attrs = vec![KeyValue::new(
            "faultline.fault.request",
            request.to_string(),
        )];
        let span = self.child(live, FAULT_SPAN.to_string(), at, attrs);
        let parent = TraceParent::new(span.span_context().clone());
        live.opened.insert(request.to_string(), span);
        if let Some(p) = &parent {
            live.requests.insert(request.to_string(), p.clone());
        }
        parent
    }

    fn fault_context(&self, run: &RunInfo, request: &str) -> Option<TraceParent> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.get(&run.id)?.requests.get(request).cloned()
    }
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
                live.phase_start = at;
            }
            RunEvent::FaultApplied {
                fault,
                kind,
                target,
                step,
                agent,
                node,
            } => {
                let mut attrs = vec![
                    KeyValue::new("faultline.fault.id", fault.clone()),
                    KeyValue::new("faultline.fault.kind", kind.clone()),
                    KeyValue::new("faultline.fault.target", target.clone()),
                    KeyValue::new("faultline.step", step.clone()),
                ];
                if !agent.is_empty() {
                    attrs.push(KeyValue::new("faultline.agent", agent.clone()));
                }
                if let Some(n) = node {
                    attrs.push(KeyValue::new("faultline.agent.node", n.clone()));
                }
                let opened = request_of(fault).and_then(|r| live.opened.remove(r));
                let span = match opened {
                    Some(mut span) => {
                        span.set_attributes(attrs);
                        span
                    }
                    None => self.child(live, FAULT_SPAN.to_string(), at, attrs),
                };
                live.faults.insert(fault.clone(), span);
            }
            RunEvent::FaultRecovered { fault, outcome } => {
                if let Some(mut f) = live.faults.remove(fault) {
                    f.set_attribute(KeyValue::new("faultline.fault.outcome", outcome.clone()));
                    f.end_with_timestamp(at);
                }
            }
            RunEvent::CheckEvaluated { .. } => self.check_evaluated(live, event, at),
            RunEvent::CheckCompared { check, comparison } => {
                let attrs = vec![
                    KeyValue::new("faultline.check", check.clone()),
                    KeyValue::new("faultline.check.ok", comparison.ok),
                    KeyValue::new("faultline.check.comparison", comparison.reason.clone()),
                ];
                // The comparison is the `during` verdict of its check: it goes on that
                // span (and decides its status); without one, on the state span.
                match live.checks.get_mut(&(check.clone(), "during".to_string())) {
                    Some(c) => {
                        c.span.add_event_with_timestamp("comparison", at, attrs);
                        c.compared = Some((comparison.ok, comparison.reason.clone()));
                    }
                    None => match &mut live.phase {
                        Some(p) => p.add_event_with_timestamp("comparison", at, attrs),
                        None => live
                            .root
                            .span()
                            .add_event_with_timestamp("comparison", at, attrs),
                    },
                }
            }
            RunEvent::FaultVerified { .. } | RunEvent::FaultUnverified { .. } => {
                let verified = matches!(event, RunEvent::FaultVerified { .. });
                let attrs = vec![
                    KeyValue::new("faultline.fault.verified", verified),
                    KeyValue::new(
                        "faultline.fault.verification",
                        crate::domain::verification_summary(event),
                    ),
                ];
                match &mut live.phase {
                    Some(p) => p.add_event_with_timestamp("fault verification", at, attrs),
                    None => {
                        live.root
                            .span()
                            .add_event_with_timestamp("fault verification", at, attrs)
                    }
                }
            }
            RunEvent::StatusCheckDecided {
                check,
                passed,
                decision,
                ..
            } => {
                let attrs = vec![
                    KeyValue::new("faultline.check", check.clone()),
                    KeyValue::new("faultline.check.ok", *passed),
                    KeyValue::new("faultline.check.decision", decision.clone()),
                ];
                match &mut live.phase {
                    Some(p) => p.add_event_with_timestamp("status check", at, attrs),
                    None => live
                        .root
                        .span()
                        .add_event_with_timestamp("status check", at, attrs),
                }
            }
            RunEvent::TaskFinished { .. } => {
                let attrs = vec![KeyValue::new("faultline.task", task_summary(event))];
                match &mut live.phase {
                    Some(p) => p.add_event_with_timestamp("task", at, attrs),
                    None => live.root.span().add_event_with_timestamp("task", at, attrs),
                }
            }
            RunEvent::Note { message } => {
                let attrs = vec![KeyValue::new("faultline.note", message.clone())];
                match &mut live.phase {
                    Some(p) => p.add_event_with_timestamp("note", at, attrs),
                    None => live.root.span().add_event_with_timestamp("note", at, attrs),
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
        run.gitlab = Some(crate::domain::GitlabContext {
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
    fn records_map_to_their_request() {
        assert_eq!(request_of("abc-f1-0"), Some("abc-f1"));
        assert_eq!(request_of("abc-f1n2-13"), Some("abc-f1n2"));
        assert_eq!(request_of("abc-f1"), None);
        assert_eq!(request_of("abc-"), None);
        assert_eq!(request_of("plain"), None);
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
