//! Who hears about a run as it happens: progress output, metrics, Grafana annotations,
//! notifications. Each is a [`RunObserver`] called after an event is persisted, so an
//! observer can never see something the store does not have — and a slow or failing
//! observer cannot hold the run up (observers hand work to their own queues).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use faultline_exporter::TraceParent;

use crate::domain::RunEvent;

/// The run an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// Experiment name.
    pub experiment: String,
    /// The GitLab event that started the run, if one did.
    pub gitlab: Option<crate::domain::GitlabContext>,
}

/// Something that wants to know what happens to runs.
pub trait RunObserver: Send + Sync {
    /// Called once per event, after it is persisted, in order per run. Must not block:
    /// queue anything slow.
    fn observe(&self, run: &RunInfo, event: &RunEvent, at: DateTime<Utc>);
}

/// The trace context calls to agents carry. Spans are built from events, which are only
/// recorded once a call has returned; so just before a fault is applied the engine asks
/// for its span to be opened, and sends that span as the `traceparent` of the apply (and
/// later of its renewals and recovery): the agent's own spans then hang under it.
pub trait FaultTraces: Send + Sync {
    /// Opens the span of fault request `request` of `run`, about to be applied, and
    /// returns its context.
    fn fault_starting(&self, run: &RunInfo, request: &str) -> Option<TraceParent>;
    /// The context of the span [`FaultTraces::fault_starting`] opened for `request`.
    fn fault_context(&self, run: &RunInfo, request: &str) -> Option<TraceParent>;
}

/// A closure as an observer (progress printing, tests).
pub struct FnObserver<F>(pub F);

impl<F: Fn(&RunEvent) + Send + Sync> RunObserver for FnObserver<F> {
    fn observe(&self, _run: &RunInfo, event: &RunEvent, _at: DateTime<Utc>) {
        (self.0)(event)
    }
}

/// Observers of one run, shared with the tasks that measure `during` checks.
#[derive(Clone, Default)]
pub struct Observers(Vec<Arc<dyn RunObserver>>);

impl Observers {
    /// Adds one.
    pub fn push(&mut self, o: Arc<dyn RunObserver>) {
        self.0.push(o);
    }

    /// Tells every observer.
    pub fn notify(&self, run: &RunInfo, event: &RunEvent) {
        let at = Utc::now();
        for o in &self.0 {
            o.observe(run, event, at);
        }
    }
}
