//! The real `faultline-agent` with `--otlp-endpoint`: each apply, renew and recover is a
//! span exported over OTLP/HTTP (protobuf) to a local receiver, a child of the caller's
//! W3C `traceparent`, or the root of a new trace when the header is missing or invalid;
//! spans still queued are flushed when SIGTERM stops the agent.

mod support;

use std::time::Duration;

use faultline_agent::protocol::ApplyRequest;
use faultline_agent::{AgentClient, FaultId};
use faultline_exporter::TraceParent;
use faultline_spec::LocalTarget;
use faultline_test_support::fakes::otlp::{Requests, receiver};
use faultline_test_support::{Proc, wait_until};
use nix::sys::signal::Signal;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use support::AgentProc;

const TOKEN: &str = "otlp-test-token";
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Every span received, with its resource's `service.name`.
fn spans(seen: &Requests) -> Vec<(Span, String)> {
    let mut out = Vec::new();
    for r in seen.lock().unwrap().iter() {
        assert_eq!(r.path, "/v1/traces");
        let req = ExportTraceServiceRequest::decode(r.body.as_slice()).unwrap();
        for rs in req.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            let service = match service {
                Some(Value::StringValue(s)) => s,
                other => panic!("service.name: {other:?}"),
            };
            for ss in rs.scope_spans {
                for s in ss.spans {
                    out.push((s, service.clone()));
                }
            }
        }
    }
    out
}

fn text(s: &Span, key: &str) -> String {
    match s
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.clone())
    {
        Some(Value::StringValue(v)) => v,
        other => panic!("{key}: {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pause(id: &str, pid: u32) -> ApplyRequest {
    ApplyRequest {
        id: FaultId::new(id).unwrap(),
        kind: serde_json::from_str(r#"{"processPause":{}}"#).unwrap(),
        targets: vec![LocalTarget::Pid(pid)],
        lease_seconds: 60,
    }
}

#[tokio::test]
async fn fault_calls_are_spans_under_the_callers_traceparent() {
    let (otlp_port, seen) = receiver(0);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let agent = AgentProc::start_with(&dir.path().join("state"), &token_file, 0, |c| {
        c.arg("--otlp-endpoint")
            .arg(format!("http://127.0.0.1:{otlp_port}"))
            .env_remove("OTEL_SERVICE_NAME")
            .env_remove("OTEL_RESOURCE_ATTRIBUTES");
    });
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let s = Proc::sleep();
    let parent = TraceParent::parse(PARENT).unwrap();
    client
        .apply_under(&pause("otlp1", s.pid()), Some(&parent))
        .await
        .unwrap();
    assert!(s.reaches('T'));
    client
        .renew_under(&FaultId::new("otlp1").unwrap(), 60, Some(&parent))
        .await
        .unwrap();
    client
        .recover_under(&FaultId::new("otlp1").unwrap(), Some(&parent))
        .await
        .unwrap();
    assert!(wait_until(Duration::from_secs(5), || s.state() == 'S').is_some());
    // No header: a new trace. A renewal of a fault that is gone: an error span.
    client.apply(&pause("otlp2", s.pid())).await.unwrap();
    client
        .recover(&FaultId::new("otlp2").unwrap())
        .await
        .unwrap();
    assert!(
        client
            .renew_under(&FaultId::new("otlp2").unwrap(), 60, Some(&parent))
            .await
            .is_err()
    );
    assert!(wait_until(Duration::from_secs(5), || s.state() == 'S').is_some());

    // SIGTERM: the agent recovers what is left, flushes its spans and exits 0.
    agent.signal(Signal::SIGTERM);
    let mut agent = agent;
    let exited = wait_until(Duration::from_secs(20), || {
        matches!(agent.proc.0.try_wait(), Ok(Some(_)))
    });
    assert!(exited.is_some(), "the agent did not stop on SIGTERM");
    assert!(agent.proc.0.wait().unwrap().success());

    let got = spans(&seen);
    let named = |name: &str, fault: &str| -> Vec<&Span> {
        got.iter()
            .filter(|(s, _)| s.name == name && text(s, "faultline.fault.id") == fault)
            .map(|(s, _)| s)
            .collect()
    };
    for (s, service) in &got {
        assert_eq!(service, "faultline-agent", "{}", s.name);
        assert_eq!(s.kind, SpanKind::Server as i32, "{}", s.name);
    }
    for name in [
        "faultline.agent.apply",
        "faultline.agent.renew",
        "faultline.agent.recover",
    ] {
        let found = named(name, "otlp1");
        assert_eq!(found.len(), 1, "one {name} of otlp1 among {got:?}");
        let span = found[0];
        assert_eq!(
            hex(&span.trace_id),
            parent.trace_id(),
            "{name}: the caller's trace"
        );
        assert_eq!(
            hex(&span.parent_span_id),
            parent.span_id(),
            "{name}: the caller's span"
        );
        assert_eq!(span.status.as_ref().map(|s| s.code), Some(1), "{name} ok");
    }
    assert_eq!(
        text(
            named("faultline.agent.apply", "otlp1")[0],
            "faultline.fault.kind"
        ),
        "processPause"
    );
    let root = named("faultline.agent.apply", "otlp2");
    assert_eq!(root.len(), 1);
    assert!(root[0].parent_span_id.is_empty(), "no header: a root span");
    assert_ne!(hex(&root[0].trace_id), parent.trace_id());
    let failed = named("faultline.agent.renew", "otlp2");
    assert_eq!(failed.len(), 1);
    let status = failed[0].status.as_ref().unwrap();
    assert_eq!(status.code, 2, "a refused renewal is an error span");
    assert!(status.message.contains("otlp2"), "{}", status.message);
}
