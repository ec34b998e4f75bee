//! W3C Trace Context between the service and its agents: the `traceparent` header a call
//! to an agent carries, so the agent's own spans join the run's trace under the span of
//! the fault the call is about. Encoded and parsed by the OpenTelemetry SDK's
//! `TraceContextPropagator` (it validates versions, hex and all-zero ids; lengths are
//! checked here).

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The HTTP header name.
pub const TRACEPARENT: &str = "traceparent";

/// A remote parent span: a trace id and a span id, sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceParent(SpanContext);

impl TraceParent {
    /// The span of `cx`, when it has a valid one.
    pub fn of(cx: &Context) -> Option<TraceParent> {
        TraceParent::new(cx.span().span_context().clone())
    }

    /// A span's context as a parent, when it is a valid one.
    pub fn new(sc: SpanContext) -> Option<TraceParent> {
        sc.is_valid().then_some(TraceParent(sc))
    }

    /// Reads a `traceparent` header value; `None` when it is not a valid one (a bad
    /// header is ignored, as the W3C spec asks: the callee then starts a new trace).
    pub fn parse(value: &str) -> Option<TraceParent> {
        // The SDK accepts short ids ("abc" is read as 0x...0abc); the spec does not.
        let lengths: Vec<usize> = value.trim().split('-').map(str::len).collect();
        if lengths.len() < 4 || lengths[..4] != [2, 32, 16, 2] {
            return None;
        }
        let headers = HashMap::from([(TRACEPARENT.to_string(), value.to_string())]);
        let cx = TraceContextPropagator::new().extract(&headers);
        let sc = cx.span().span_context().clone();
        sc.is_valid().then_some(TraceParent(sc))
    }

    /// The header value, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    pub fn header_value(&self) -> String {
        let cx = Context::new().with_remote_span_context(self.0.clone());
        let mut headers = HashMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut headers);
        headers.remove(TRACEPARENT).unwrap_or_default()
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }

    /// The parent span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        self.0.span_id().to_string()
    }

    /// A context whose (remote) span is this parent, to start child spans in.
    pub(crate) fn context(&self) -> Context {
        Context::new().with_remote_span_context(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_header_round_trips() {
        let tp = TraceParent::parse(SAMPLE).expect("valid");
        assert_eq!(tp.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.span_id(), "00f067aa0ba902b7");
        assert_eq!(tp.header_value(), SAMPLE);
    }

    #[test]
    fn invalid_headers_are_ignored_not_errors() {
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_context_without_a_span_has_no_parent() {
        assert!(TraceParent::of(&Context::new()).is_none());
    }
}
