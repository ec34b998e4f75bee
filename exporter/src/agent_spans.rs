//! The node agent's spans: one per API call that changes a fault (apply, recover, renew),
//! a child of the span the caller named in its `traceparent` header (the fault's span in
//! the run's trace), or a new trace when there was none. Span names live here, like metric
//! names.

use opentelemetry::KeyValue;
use opentelemetry::global::{BoxedSpan, BoxedTracer};
use opentelemetry::trace::{Span, SpanKind, Status, Tracer};

use crate::trace_context::TraceParent;
use crate::traces::Tracing;

/// The instrumentation scope of the agent's spans.
pub const AGENT_SCOPE: &str = "faultline-agent";

/// Which call a span is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentCall {
    /// `POST /v1/faults`.
    Apply,
    /// `DELETE /v1/faults/{id}`.
    Recover,
    /// `POST /v1/faults/{id}/renew`.
    Renew,
}

impl AgentCall {
    /// The span name.
    pub const fn span_name(self) -> &'static str {
        match self {
            AgentCall::Apply => "faultline.agent.apply",
            AgentCall::Recover => "faultline.agent.recover",
            AgentCall::Renew => "faultline.agent.renew",
        }
    }
}

/// Starts the agent's spans (cheap to clone).
#[derive(Clone)]
pub struct AgentTracer {
    tracer: std::sync::Arc<BoxedTracer>,
}

impl std::fmt::Debug for AgentTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentTracer")
    }
}

/// One call's span; ends when [`AgentSpan::ok`] or [`AgentSpan::failed`] is called (or,
/// unfinished, when dropped).
pub struct AgentSpan(BoxedSpan);

impl AgentTracer {
    /// Spans exported by `export`.
    pub fn new(export: &Tracing) -> AgentTracer {
        AgentTracer {
            tracer: std::sync::Arc::new(export.tracer(AGENT_SCOPE)),
        }
    }

    /// Starts the span of `call` about fault (request or record) `fault`, under `parent`.
    pub fn start(&self, call: AgentCall, parent: Option<&TraceParent>, fault: &str) -> AgentSpan {
        let cx = parent.map(TraceParent::context).unwrap_or_default();
        let span = self
            .tracer
            .span_builder(call.span_name())
            // The agent serves the call: a server span, as HTTP semantic conventions ask.
            .with_kind(SpanKind::Server)
            .with_attributes(vec![KeyValue::new("faultline.fault.id", fault.to_string())])
            .start_with_context(&*self.tracer, &cx);
        AgentSpan(span)
    }
}

impl AgentSpan {
    /// Adds a string attribute (`faultline.fault.kind`, ...).
    pub fn text(&mut self, key: &'static str, value: impl Into<String>) {
        self.0.set_attribute(KeyValue::new(key, value.into()));
    }

    /// Adds a count attribute (`faultline.agent.records`, ...).
    pub fn count(&mut self, key: &'static str, n: usize) {
        self.0
            .set_attribute(KeyValue::new(key, i64::try_from(n).unwrap_or(i64::MAX)));
    }

    /// Ends the span as a success.
    pub fn ok(mut self) {
        self.0.set_status(Status::Ok);
        self.0.end();
    }

    /// Ends the span as a failure, with the error's text.
    pub fn failed(mut self, error: &str) {
        self.0.set_status(Status::error(error.to_string()));
        self.0.end();
    }
}
