//! A real run's trace over OTLP/HTTP: a local receiver on loopback speaks the protocol
//! (POST /v1/traces, `application/x-protobuf`, protobuf `ExportTraceServiceRequest`),
//! answers the first export 503 like a collector under pressure, and the test decodes
//! every body and asserts the span tree of a run that paused a `sleep` process — and,
//! with a node agent on loopback exporting to the same receiver, that the agent's spans
//! join the run's trace under the fault's span (W3C `traceparent`).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::GitlabContext;
use faultline::domain::RunState;
use faultline::outputs::TraceObserver;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_agent::client::AgentClient;
use faultline_agent::daemon::{Auth, serve_traced};
use faultline_exporter::{AgentTracer, Tracing};
use faultline_spec::load_str;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use faultline_test_support::fakes::otlp::receiver;
use faultline_test_support::{Proc, empty_http_server, proc_state};

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn text(attrs: &[KeyValue], key: &str) -> String {
    match attr(attrs, key) {
        Some(Value::StringValue(s)) => s.clone(),
        other => panic!("{key}: not a string attribute: {other:?}"),
    }
}

fn spans_of(body: &[u8]) -> Vec<(Span, Vec<KeyValue>)> {
    let req =
        ExportTraceServiceRequest::decode(body).expect("a protobuf ExportTraceServiceRequest");
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
        for ss in rs.scope_spans {
            let scope = ss.scope.as_ref().map(|s| s.name.as_str());
            assert!(
                matches!(scope, Some("faultline" | "faultline-agent")),
                "{scope:?}"
            );
            for s in ss.spans {
                out.push((s, resource.clone()));
            }
        }
    }
    out
}

fn pause_yaml(name: &str, pid: u32, port: u16) -> String {
    pause_for(name, pid, port, "1s")
}

fn pause_for(name: &str, pid: u32, port: u16, duration: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 100ms, timeout: 1s }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: {duration}
"#
    )
}

/// `faultline run` exits only after its spans are out: the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME` are enough to turn export on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faultline_run_flushes_its_trace_before_it_exits() {
    let (otlp_port, seen) = receiver(0);
    let dir = tempfile::tempdir().unwrap();
    let (_web, port) = empty_http_server();
    let sleeper = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let exp = dir.path().join("exp.yaml");
    std::fs::write(&exp, pause_yaml("cli-traced", sleeper.pid(), port)).unwrap();
    let state = dir.path().join("state");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .arg("run")
            .arg("--state-dir")
            .arg(&state)
            .arg(&exp)
            .env_remove("FAULTLINE_OTLP_ENDPOINT")
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{otlp_port}"),
            )
            .env("OTEL_SERVICE_NAME", "faultline-cli-test")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Checked the moment the process is gone: nothing may still be on its way.
    let requests = seen.lock().unwrap().clone();
    let spans: Vec<(Span, Vec<KeyValue>)> =
        requests.iter().flat_map(|r| spans_of(&r.body)).collect();
    let root = spans
        .iter()
        .find(|(s, _)| s.name == "faultline.run")
        .unwrap_or_else(|| panic!("no run span among {} request(s); {stdout}", requests.len()));
    assert_eq!(
        text(&root.0.attributes, "faultline.experiment"),
        "cli-traced"
    );
    assert_eq!(text(&root.0.attributes, "faultline.verdict"), "passed");
    assert_eq!(text(&root.1, "service.name"), "faultline-cli-test");
    assert!(spans.iter().any(|(s, _)| s.name == "faultline.fault"));
    drop(sleeper);
}

/// `faultline serve --otlp-endpoint` exports a run's trace while it keeps serving (the
/// standard `OTEL_BSP_SCHEDULE_DELAY` shortens the batch delay from 5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faultline_serve_exports_each_run_while_serving() {
    let (otlp_port, seen) = receiver(0);
    let dir = tempfile::tempdir().unwrap();
    let (_web, port) = empty_http_server();
    let sleeper = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let exp = dir.path().join("exp.yaml");
    std::fs::write(&exp, pause_yaml("serve-traced", sleeper.pid(), port)).unwrap();
    let mut serve = Proc(
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["serve", "--insecure-no-auth", "--listen"])
            .arg("127.0.0.1:0")
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--otlp-endpoint")
            .arg(format!("http://127.0.0.1:{otlp_port}/"))
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let listen = serve.wait_listening();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["trigger", "--wait", "--server"])
            .arg(format!("http://127.0.0.1:{listen}"))
            .arg(&exp)
            .env_remove("FAULTLINE_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let spans: Vec<Span> = seen
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| spans_of(&r.body))
            .map(|(s, _)| s)
            .collect();
        if let Some(root) = spans.iter().find(|s| s.name == "faultline.run") {
            assert_eq!(
                text(&root.attributes, "faultline.experiment"),
                "serve-traced"
            );
            assert_eq!(text(&root.attributes, "faultline.verdict"), "passed");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no run span 10 s after the verdict, while serving"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(sleeper);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_one_trace_with_a_span_per_state_and_fault_and_survives_a_503() {
    let (otlp_port, seen) = receiver(1);
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let (_web, port) = empty_http_server();
    let sleeper = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let pid = sleeper.pid();
    let yaml = pause_yaml("traced", pid, port);
    let exp = load_str(&yaml, "traced.yaml").unwrap().remove(0);
    let gitlab = GitlabContext {
        event: "pipeline".into(),
        project_path: "shop/checkout".into(),
        sha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2".into(),
        pipeline_id: Some(31),
        mr_iid: Some(7),
        ..Default::default()
    };
    store
        .create_run_from("run-otel", "traced", "{}", Some(&gitlab))
        .unwrap();

    let export =
        Tracing::start(&format!("http://127.0.0.1:{otlp_port}"), "faultline-test").unwrap();
    let mut opts = RunOptions {
        lease: Duration::from_secs(10),
        ..RunOptions::default()
    };
    opts.observers.push(Arc::new(TraceObserver::new(
        export.tracer(faultline::outputs::traces::SCOPE),
    )));
    let runner = Runner::new(
        store.clone(),
        Injector::InProcess(agent.clone()),
        opts,
        "run-otel".into(),
        exp,
    )
    .gitlab(Some(gitlab.clone()));
    let verdict = runner.execute().await;
    assert_eq!(verdict, RunState::Passed, "{:?}", store.run("run-otel"));
    export.shutdown().await.expect("spans flushed");

    let requests = seen.lock().unwrap().clone();
    assert!(requests.len() >= 2, "the 503 was not retried: {requests:?}");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/traces", "OTLP/HTTP's traces path");
        assert_eq!(r.content_type, "application/x-protobuf");
    }
    assert_eq!(requests[0].status, 503);
    // The SDK retries a 503 (OTLP/HTTP marks it retryable): every span the refused
    // request carried arrives in a later accepted one.
    let accepted: Vec<(Span, Vec<KeyValue>)> = requests
        .iter()
        .filter(|r| r.status == 200)
        .flat_map(|r| spans_of(&r.body))
        .collect();
    for (refused, _) in spans_of(&requests[0].body) {
        assert!(
            accepted.iter().any(|(s, _)| s.span_id == refused.span_id),
            "span {} refused with 503 was lost",
            refused.name
        );
    }
    // Retries may deliver a span twice; the tree is judged on distinct spans.
    let mut spans: Vec<Span> = Vec::new();
    for (s, resource) in accepted {
        assert_eq!(text(&resource, "service.name"), "faultline-test");
        if !spans.iter().any(|x| x.span_id == s.span_id) {
            spans.push(s);
        }
    }

    let root = spans
        .iter()
        .find(|s| s.name == "faultline.run")
        .expect("a faultline.run span");
    assert!(root.parent_span_id.is_empty(), "the run span is a root");
    assert_eq!(text(&root.attributes, "faultline.run.id"), "run-otel");
    assert_eq!(text(&root.attributes, "faultline.experiment"), "traced");
    assert_eq!(text(&root.attributes, "faultline.verdict"), "passed");
    assert_eq!(
        text(&root.attributes, "gitlab.project.path"),
        "shop/checkout"
    );
    assert_eq!(text(&root.attributes, "gitlab.commit.sha"), gitlab.sha);
    assert_eq!(
        attr(&root.attributes, "gitlab.pipeline.id"),
        Some(&Value::IntValue(31))
    );
    assert_eq!(
        attr(&root.attributes, "gitlab.merge_request.iid"),
        Some(&Value::IntValue(7))
    );
    assert!(root.start_time_unix_nano <= root.end_time_unix_nano);
    for s in &spans {
        assert_eq!(
            s.trace_id, root.trace_id,
            "{} is in the run's trace",
            s.name
        );
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{}", s.name);
        assert!(
            s.start_time_unix_nano >= root.start_time_unix_nano
                && s.end_time_unix_nano <= root.end_time_unix_nano,
            "{} lies inside the run span",
            s.name
        );
        if s.span_id != root.span_id {
            assert_eq!(
                s.parent_span_id, root.span_id,
                "{} is the run's child",
                s.name
            );
        }
    }
    let mut states: Vec<&Span> = spans
        .iter()
        .filter(|s| {
            s.name != "faultline.run"
                && s.name != "faultline.fault"
                && !s.name.starts_with("check ")
        })
        .collect();
    states.sort_by_key(|s| s.start_time_unix_nano);
    let names: Vec<&str> = states.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "checking-before",
            "injecting",
            "observing",
            "recovering",
            "checking-after"
        ]
    );
    for w in states.windows(2) {
        assert_eq!(
            w[0].end_time_unix_nano, w[1].start_time_unix_nano,
            "{} ends as {} starts",
            w[0].name, w[1].name
        );
    }

    let faults: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "faultline.fault")
        .collect();
    assert_eq!(faults.len(), 1, "one fault span");
    let fault = faults[0];
    assert_eq!(
        text(&fault.attributes, "faultline.fault.kind"),
        "processPause"
    );
    assert!(
        text(&fault.attributes, "faultline.fault.target").contains(&pid.to_string()),
        "{:?}",
        fault.attributes
    );
    assert_eq!(text(&fault.attributes, "faultline.step"), "pause");
    assert_eq!(
        text(&fault.attributes, "faultline.fault.outcome"),
        "removed"
    );
    assert_eq!(text(&fault.attributes, "faultline.agent"), "in-process");
    let (injecting, observing) = (states[1], states[2]);
    // Applied while injecting; the engine removes a step's faults when its time is up and
    // records that just before the move to recovering, so the span ends around there.
    assert!(
        fault.start_time_unix_nano >= injecting.start_time_unix_nano
            && fault.start_time_unix_nano <= observing.start_time_unix_nano,
        "the fault starts while injecting"
    );
    assert!(
        fault.end_time_unix_nano >= observing.start_time_unix_nano
            && fault.end_time_unix_nano <= states[3].start_time_unix_nano,
        "the fault is active while observing and removed by the time recovering starts"
    );
    assert!(
        fault.end_time_unix_nano - fault.start_time_unix_nano >= 900_000_000,
        "the fault lasted its 1s step"
    );

    // A span per check and phase, under the run, each evaluation an event on it; it
    // lies within the states of its phase.
    let checks: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "check availability")
        .collect();
    let phase = |p: &str| -> &Span {
        let found: Vec<&&Span> = checks
            .iter()
            .filter(|s| text(&s.attributes, "faultline.check.phase") == p)
            .collect();
        assert_eq!(found.len(), 1, "one {p} span of the check");
        found[0]
    };
    // `during` checks start measuring just before the first injection, so their first
    // evaluation may still fall in checking-before; they end before checking-after.
    for (p, first, last) in [
        ("before", states[0], states[0]),
        ("during", states[0], states[3]),
        ("after", states[4], states[4]),
    ] {
        let c = phase(p);
        assert_eq!(text(&c.attributes, "faultline.check"), "availability");
        assert_eq!(text(&c.attributes, "faultline.check.expect"), ">= 0.99");
        assert_eq!(
            attr(&c.attributes, "faultline.check.ok"),
            Some(&Value::BoolValue(true)),
            "{p}"
        );
        assert!(matches!(
            attr(&c.attributes, "faultline.check.value"),
            Some(Value::DoubleValue(_))
        ));
        // Every evaluation met the expectation: one event, the first; the count has all.
        let evaluations: Vec<_> = c.events.iter().filter(|e| e.name == "evaluation").collect();
        assert_eq!(
            evaluations.len(),
            1,
            "{p}: only the first (no change followed)"
        );
        let Some(Value::IntValue(n)) = attr(&c.attributes, "faultline.check.evaluations") else {
            panic!("{p}: no evaluation count")
        };
        assert!(*n >= 1, "{p}");
        if p == "during" {
            assert!(
                *n >= 2,
                "measured throughout the 1 s fault, every 100 ms: {n}"
            );
        }
        let range = |k: &str| match attr(&c.attributes, k) {
            Some(Value::DoubleValue(v)) => *v,
            other => panic!("{p}: {k}: {other:?}"),
        };
        assert!(range("faultline.check.value.min") <= range("faultline.check.value.max"));
        assert_eq!(
            attr(&c.attributes, "faultline.check.failures"),
            Some(&Value::IntValue(0))
        );
        for e in evaluations {
            assert!(e.time_unix_nano >= c.start_time_unix_nano);
            assert!(e.time_unix_nano <= c.end_time_unix_nano);
            assert_eq!(text(&e.attributes, "faultline.check.phase"), p);
            assert!(matches!(
                attr(&e.attributes, "faultline.check.value"),
                Some(Value::DoubleValue(_))
            ));
        }
        assert!(
            c.start_time_unix_nano >= first.start_time_unix_nano
                && c.end_time_unix_nano <= last.end_time_unix_nano,
            "the {p} check lies within its states"
        );
    }
    assert_eq!(checks.len(), 3, "before, during, after");
    drop(sleeper);
}

/// A run through a node agent (the real daemon, on loopback, with `--otlp-endpoint`'s
/// exporter): the apply, renew and recover calls carry the fault span as `traceparent`,
/// and the agent's own spans arrive in the run's trace as that span's children. The fault
/// pauses the web server the check probes, so the `during` check span reports the misses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_spans_are_children_of_the_fault_span_in_the_runs_trace() {
    let (otlp_port, seen) = receiver(0);
    let otlp = format!("http://127.0.0.1:{otlp_port}");
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path().join("agent")).await.unwrap();
    let agent_export = Tracing::start(&otlp, "faultline-agent").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = serve_traced(
        agent.clone(),
        Auth::Disabled,
        listener,
        Some(AgentTracer::new(&agent_export)),
    )
    .unwrap();
    let daemon = server.handle();
    tokio::spawn(server);

    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let (web, port) = empty_http_server();
    // A 3 s lease is renewed every second: a 2.5 s pause spans at least two renewals.
    let yaml = pause_for("traced-agent", web.pid(), port, "2500ms");
    let exp = load_str(&yaml, "traced-agent.yaml").unwrap().remove(0);
    store
        .create_run_from("run-agent", "traced-agent", "{}", None)
        .unwrap();
    let export = Tracing::start(&otlp, "faultline-test").unwrap();
    let traces = Arc::new(TraceObserver::new(
        export.tracer(faultline::outputs::traces::SCOPE),
    ));
    let mut opts = RunOptions {
        lease: Duration::from_secs(3),
        ..RunOptions::default()
    };
    opts.observers.push(traces.clone());
    opts.fault_traces = Some(traces);
    let runner = Runner::new(
        store.clone(),
        Injector::Remote(AgentClient::new(url.clone(), None).unwrap()),
        opts,
        "run-agent".into(),
        exp,
    );
    let verdict = runner.execute().await;
    // The server answered nothing while paused: the during check failed the run.
    assert_eq!(verdict, RunState::Failed, "{:?}", store.run("run-agent"));
    export.shutdown().await.expect("service spans flushed");
    daemon.stop(true).await;
    agent_export.shutdown().await.expect("agent spans flushed");
    agent.shutdown().await.unwrap();
    assert_ne!(proc_state(web.pid()), 'T', "the pause was removed");
    drop(web);

    let mut spans: Vec<(Span, Vec<KeyValue>)> = Vec::new();
    for (s, resource) in seen.lock().unwrap().iter().flat_map(|r| spans_of(&r.body)) {
        if !spans.iter().any(|(x, _)| x.span_id == s.span_id) {
            spans.push((s, resource));
        }
    }
    let find = |name: &str| -> Vec<&(Span, Vec<KeyValue>)> {
        spans.iter().filter(|(s, _)| s.name == name).collect()
    };
    let root = &find("faultline.run")[0].0;
    let faults = find("faultline.fault");
    assert_eq!(faults.len(), 1, "one fault span");
    let fault = &faults[0].0;
    assert_eq!(text(&fault.attributes, "faultline.agent"), url);
    assert_eq!(fault.parent_span_id, root.span_id);

    for (name, at_least) in [
        ("faultline.agent.apply", 1),
        ("faultline.agent.recover", 1),
        ("faultline.agent.renew", 1),
    ] {
        let found = find(name);
        assert!(
            found.len() >= at_least,
            "no {name} span among {:?}",
            spans.iter().map(|(s, _)| &s.name).collect::<Vec<_>>()
        );
        for (s, resource) in found {
            assert_eq!(text(resource, "service.name"), "faultline-agent");
            assert_eq!(s.trace_id, root.trace_id, "{name} is in the run's trace");
            assert_eq!(
                s.parent_span_id, fault.span_id,
                "{name}'s parent is the fault span"
            );
            assert_eq!(
                text(&s.attributes, "faultline.fault.id"),
                text(&fault.attributes, "faultline.fault.request"),
                "{name} is about the fault's request"
            );
            // Opened before the apply call, ended after the recover call returned. (A
            // renewal taken just before the recovery may answer after it: start only.)
            assert!(
                s.start_time_unix_nano >= fault.start_time_unix_nano,
                "{name} starts within the fault span"
            );
            if name != "faultline.agent.renew" {
                assert!(
                    s.end_time_unix_nano <= fault.end_time_unix_nano,
                    "{name} ends within the fault span"
                );
            }
        }
    }
    let apply = &find("faultline.agent.apply")[0].0;
    assert_eq!(
        text(&apply.attributes, "faultline.fault.kind"),
        "processPause"
    );
    assert_eq!(
        apply.status.as_ref().map(|s| s.code),
        Some(1),
        "the apply span is ok: {:?}",
        apply.status
    );

    // The during check: missed while the server was paused, so an error span whose
    // events mark the change to missed; the after check met again.
    let check = |phase: &str| -> &Span {
        &spans
            .iter()
            .find(|(s, _)| {
                s.name == "check availability"
                    && text(&s.attributes, "faultline.check.phase") == phase
            })
            .unwrap_or_else(|| panic!("no {phase} check span"))
            .0
    };
    let during = check("during");
    assert_eq!(
        during.status.as_ref().map(|s| s.code),
        Some(2),
        "{during:?}"
    );
    assert_eq!(
        attr(&during.attributes, "faultline.check.ok"),
        Some(&Value::BoolValue(false))
    );
    assert!(matches!(
        attr(&during.attributes, "faultline.check.failures"),
        Some(Value::IntValue(n)) if *n >= 1
    ));
    let outcomes: Vec<bool> = during
        .events
        .iter()
        .filter(|e| e.name == "evaluation")
        .map(|e| {
            matches!(
                attr(&e.attributes, "faultline.check.ok"),
                Some(Value::BoolValue(true))
            )
        })
        .collect();
    assert!(
        outcomes.contains(&false),
        "the miss is an event: {outcomes:?}"
    );
    assert!(
        outcomes.windows(2).all(|w| w[0] != w[1]),
        "events only where the outcome changed: {outcomes:?}"
    );
    assert_eq!(
        attr(&check("after").attributes, "faultline.check.ok"),
        Some(&Value::BoolValue(true))
    );
}
