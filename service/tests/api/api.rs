//! The HTTP API end to end: a real faultline service on a loopback port, the in-process
//! agent in a temp state dir, a Python HTTP server as the system under test and `sleep`
//! processes as fault targets. Every test that pauses a process proves it runs again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use faultline::api::server::INTERRUPTED;
use faultline::api::{Auth, check_bind};
use faultline::domain::{RunEvent, RunState};
use faultline_test_support::{
    client, empty_http_server, proc_state, read_sse, sleeper, wait_stopped,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post_yaml(s: &TestServer, token: &str, body: &str) -> reqwest::Response {
    client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn get_json(s: &TestServer, path: &str) -> Value {
    let res = client()
        .get(s.url(path))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Polls the run until it is terminal (at most 60 s).
async fn wait_terminal(s: &TestServer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = get_json(s, &format!("/api/v1/runs/{id}")).await;
        let st = RunState::parse(r["verdict"].as_str().unwrap()).unwrap();
        if st.is_terminal() {
            return r;
        }
        assert!(Instant::now() < deadline, "run {id} still {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yaml_run_is_created_at_once_streams_its_events_and_passes() {
    let s = TestServer::start().await;
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let res = post_yaml(&s, OPERATOR, &pause_yaml("api-pass", pid, port, "1s")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["state"], "pending");
    assert_eq!(created["url"], location);
    assert_eq!(location, s.url(&format!("/api/v1/runs/{id}")));

    let stopped = tokio::spawn(wait_stopped(pid));
    let events = client()
        .get(s.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    let frames = read_sse(events).await;
    assert!(stopped.await.unwrap(), "the target was never paused");
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");

    // Every stored event, in order, numbered from 1, then the end marker.
    let (end, numbered) = frames.split_last().unwrap();
    assert_eq!(end.event, "end");
    assert_eq!(end.data["verdict"], "passed", "{frames:#?}");
    let ids: Vec<u64> = numbered.iter().map(|f| f.id.unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert_eq!(ids.len(), s.store.events(&id).unwrap().len());
    assert!(numbered.iter().all(|f| f.data["type"] == f.event));
    let last = numbered.last().unwrap();
    assert_eq!(last.event, "stateChanged");
    assert_eq!(last.data["to"], "passed");
    assert!(numbered.iter().any(|f| f.event == "faultApplied"));
    assert!(
        numbered
            .iter()
            .any(|f| f.event == "faultRecovered" && f.data["outcome"] == "removed")
    );

    let report = get_json(&s, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(report["verdict"], "passed");
    assert_eq!(report["experiment"], "api-pass");
    // The pause was read back (the process stopped) before the run went on.
    let fault = &report["faults"][0];
    assert_eq!(
        (&fault["state"], &fault["coverage"]),
        (&json!("verified"), &json!("1/1")),
        "{report}"
    );
    assert!(
        fault["evidence"].as_str().unwrap().contains("stopped"),
        "{report}"
    );
    assert_eq!(report["verifications"][0]["verified"], true);
    assert!(report["checks"].as_array().unwrap().len() >= 2, "{report}");
    assert!(s.agent.list().await.unwrap().is_empty());

    let runs = get_json(&s, "/api/v1/runs?limit=5").await;
    assert_eq!(runs["runs"][0]["id"], id.as_str());
    assert_eq!(runs["runs"][0]["state"], "passed");
    assert!(runs["next"].is_null(), "one run: no next page");
    let page = get_json(&s, "/api/v1/runs?limit=1&state=passed&experiment=api-pass").await;
    assert_eq!(page["runs"][0]["id"], id.as_str());
    let next = page["next"].as_str().unwrap();
    assert!(
        next.contains(&format!("before={id}")) && next.contains("state=passed"),
        "{next}"
    );
    let after: Value = viewer_json(next).await;
    assert_eq!(after["runs"], json!([]));
    assert!(
        get_json(&s, "/api/v1/runs?state=failed").await["runs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for bad in ["/api/v1/runs?state=finished", "/api/v1/runs?colour=red"] {
        let res = client()
            .get(s.url(bad))
            .bearer_auth(VIEWER)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        r#"faultline_runs_started_total{experiment="api-pass"} 1"#,
        r#"faultline_runs_finished_total{experiment="api-pass",verdict="passed"} 1"#,
        "faultline_run_duration_seconds_count 1",
        r#"faultline_faults_active{kind="processPause"} 0"#,
        r#"faultline_check_value{check="availability",experiment="api-pass",phase="after"} 1"#,
        r#"faultline_api_requests_total{route="/api/v1/runs",status="201"} 1"#,
        r#"faultline_api_requests_total{route="/api/v1/runs/{id}/events",status="200"} 1"#,
        "faultline_agent_faults_active",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    assert!(
        !metrics.contains(&id),
        "a run id leaked into a metric label"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_come_as_html_json_and_junit_and_events_resume_after_last_event_id() {
    let s = TestServer::start().await;
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let res = post_yaml(
        &s,
        ADMIN,
        &pause_yaml("api-reports", target.0.id(), port, "300ms"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_terminal(&s, &id).await;

    let fetch = |path: String| {
        let url = s.url(&path);
        async move {
            let r = client().get(url).bearer_auth(VIEWER).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            (ct, r.text().await.unwrap())
        }
    };
    let (ct, html) = fetch(format!("/api/v1/runs/{id}/report.html")).await;
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("api-reports") && html.contains("passed"));
    assert!(html.contains("<svg"), "the timeline chart is inline");
    let (ct, json) = fetch(format!("/api/v1/runs/{id}/report.json")).await;
    assert!(ct.starts_with("application/json"), "{ct}");
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["schema"], "faultline.dev/report/v1");
    assert_eq!(json["run"], id.as_str());
    let (ct, xml) = fetch(format!("/api/v1/runs/{id}/junit.xml")).await;
    assert!(ct.starts_with("application/xml"), "{ct}");
    assert!(xml.contains("<testsuite") && xml.contains("availability"));
    assert!(!xml.contains("<failure"), "{xml}");

    // A reconnecting client gets only what it has not seen.
    let all = s.store.events(&id).unwrap().len() as u64;
    let res = client()
        .get(s.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(VIEWER)
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap();
    let frames = read_sse(res).await;
    let ids: Vec<u64> = frames.iter().filter_map(|f| f.id).collect();
    assert_eq!(ids, (3..=all).collect::<Vec<_>>());
    assert_eq!(frames.last().unwrap().event, "end");

    for path in ["report.html", "report.json", "junit.xml", "events", ""] {
        let r = client()
            .get(s.url(&format!("/api/v1/runs/nosuchrun/{path}")))
            .bearer_auth(VIEWER)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_experiment_is_refused_with_every_problem_and_its_line() {
    let s = TestServer::start().await;
    let bad = pause_yaml("bad", 1, 1, "1 fortnight").replace("processPause", "processPuase");
    let res = post_yaml(&s, OPERATOR, &bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    let details = body["details"].as_array().unwrap();
    assert!(!details.is_empty(), "{body}");
    for d in details {
        // Lines 11-13 hold the broken step.
        assert!(d["line"].as_u64().unwrap() >= 11, "{d}");
        assert!(d["column"].as_u64().unwrap() >= 1, "{d}");
        assert!(d["path"].as_str().unwrap().starts_with("spec.steps"), "{d}");
    }
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid experiment")
    );

    let two = format!(
        "{}---\n{}",
        pause_yaml("a", 1, 1, "1s"),
        pause_yaml("b", 1, 1, "1s")
    );
    let res = post_yaml(&s, OPERATOR, &two).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("2 experiments"),
        "{body}"
    );

    let big = "#".repeat(2 << 20);
    let res = post_yaml(&s, OPERATOR, &big).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing of that became a run.
    assert!(s.store.list_runs(10).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_the_token_and_its_role() {
    let s = TestServer::start().await;
    let target = sleeper();
    let dry = json!({
        "experiment": pause_yaml("dry", target.0.id(), 1, "1s"),
        "dryRun": true,
    });
    // (method, path, token, expected)
    let none = "";
    let cases: Vec<(&str, &str, &str, StatusCode)> = vec![
        ("GET", "/api/v1/runs", none, StatusCode::UNAUTHORIZED),
        (
            "GET",
            "/api/v1/runs",
            "wrong-token",
            StatusCode::UNAUTHORIZED,
        ),
        ("GET", "/api/v1/runs", VIEWER, StatusCode::OK),
        ("GET", "/api/v1/runs", OPERATOR, StatusCode::OK),
        ("GET", "/api/v1/runs", ADMIN, StatusCode::OK),
        ("POST", "/api/v1/runs", none, StatusCode::UNAUTHORIZED),
        (
            "POST",
            "/api/v1/runs",
            "wrong-token",
            StatusCode::UNAUTHORIZED,
        ),
        ("POST", "/api/v1/runs", VIEWER, StatusCode::FORBIDDEN),
        ("POST", "/api/v1/runs", OPERATOR, StatusCode::OK),
        ("POST", "/api/v1/runs", ADMIN, StatusCode::OK),
        (
            "POST",
            "/api/v1/runs/x/abort",
            none,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "POST",
            "/api/v1/runs/x/abort",
            VIEWER,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/v1/runs/x/abort",
            OPERATOR,
            StatusCode::NOT_FOUND,
        ),
        ("GET", "/api/v1/runs/x", none, StatusCode::UNAUTHORIZED),
        ("GET", "/api/v1/runs/x", VIEWER, StatusCode::NOT_FOUND),
        (
            "GET",
            "/api/v1/runs/x/events",
            none,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "GET",
            "/api/v1/runs/x/report.html",
            none,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "GET",
            "/api/v1/runs/x/report.json",
            none,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "GET",
            "/api/v1/runs/x/junit.xml",
            none,
            StatusCode::UNAUTHORIZED,
        ),
        ("GET", "/healthz", none, StatusCode::OK),
        ("GET", "/readyz", none, StatusCode::OK),
        ("GET", "/metrics", none, StatusCode::OK),
    ];
    for (method, path, token, want) in cases {
        let mut req = match method {
            "GET" => client().get(s.url(path)),
            _ if path.ends_with("/abort") => {
                client().post(s.url(path)).json(&json!({"reason": "x"}))
            }
            _ => client().post(s.url(path)).json(&dry),
        };
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), want, "{method} {path} with {token:?}");
        if want == StatusCode::UNAUTHORIZED {
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
            let body: Value = res.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
        }
    }
    // Dry runs create nothing and touch nothing.
    assert!(s.store.list_runs(10).unwrap().is_empty());
    assert_ne!(proc_state(target.0.id()), 'T');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_resolves_the_target_and_injects_nothing() {
    let s = TestServer::start().await;
    let target = sleeper();
    let pid = target.0.id();
    let yaml =
        pause_yaml("dry", pid, 1, "1s").replace("  steps:", "  guard: { dryRun: true }\n  steps:");
    let res = post_yaml(&s, OPERATOR, &yaml).await;
    assert_eq!(res.status(), StatusCode::OK);
    let plan: Value = res.json().await.unwrap();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["faults"][0]["kind"], "processPause");
    assert_eq!(plan["faults"][0]["step"], "pause");
    assert_eq!(plan["faults"][0]["startsAtSeconds"], 0.0);
    assert_eq!(plan["refusal"], Value::Null);
    assert_eq!(plan["targets"][0]["target"]["local"]["pid"], pid);
    assert_eq!(plan["targets"][0]["resolved"]["procs"][0]["pid"], pid);
    assert_eq!(plan["checks"][0], "availability");
    assert!(s.store.list_runs(10).unwrap().is_empty());
    assert!(s.agent.list().await.unwrap().is_empty());
    assert_ne!(proc_state(pid), 'T');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_through_the_api_recovers_the_fault_and_ends_aborted() {
    let s = TestServer::start().await;
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let res = post_yaml(&s, OPERATOR, &pause_yaml("api-abort", pid, port, "60s")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await, "the target was never paused");
    let abort = |body: Value| {
        client()
            .post(s.url(&format!("/api/v1/runs/{id}/abort")))
            .bearer_auth(OPERATOR)
            .json(&body)
            .send()
    };
    let res = abort(json!({ "reason": "checkout is on fire" }))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let started = Instant::now();
    let report = wait_terminal(&s, &id).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "abort did not cut the 60 s step"
    );
    assert_eq!(report["verdict"], "aborted");
    // The operator's reason first; the engine adds whether the steady state came back.
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.starts_with("checkout is on fire"), "{reason}");
    assert_ne!(proc_state(pid), 'T', "the paused target was not resumed");
    assert!(s.agent.list().await.unwrap().is_empty());
    let recovered = s.store.events(&id).unwrap().into_iter().any(
        |e| matches!(e.event, RunEvent::FaultRecovered { ref outcome, .. } if outcome == "removed"),
    );
    assert!(recovered);
    let res = abort(json!({ "reason": "again" })).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = abort(json!({ "why": "typo" })).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_service_aborts_live_runs_and_recovers_their_faults() {
    let s = TestServer::start().await;
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let res = post_yaml(&s, OPERATOR, &pause_yaml("api-stop", pid, port, "60s")).await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await);
    let store = s.store.clone();
    let agent = s.agent.clone();
    s.stop("terminated (SIGTERM)").await;
    let run = store.run(&id).unwrap();
    assert_eq!(run.state, RunState::Aborted);
    assert!(
        run.reason.starts_with("terminated (SIGTERM)"),
        "{}",
        run.reason
    );
    assert_ne!(proc_state(pid), 'T');
    assert!(agent.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_ends_runs_left_unfinished_in_error() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    {
        // What a killed service leaves: a run mid-flight in the store.
        let store = faultline::store::Store::open(&dir.path().join("faultline.db")).unwrap();
        store.create_run("leftover", "exp", "{}").unwrap();
        for to in [RunState::CheckingBefore, RunState::Injecting] {
            store
                .record(
                    "leftover",
                    &RunEvent::StateChanged {
                        to,
                        reason: String::new(),
                    },
                )
                .unwrap();
        }
    }
    let s = TestServer::start_in(dir).await;
    assert_eq!(s.interrupted, vec!["leftover".to_string()]);
    let r = get_json(&s, "/api/v1/runs/leftover").await;
    assert_eq!(r["verdict"], "error");
    assert_eq!(r["reason"], INTERRUPTED);
    let res = client()
        .post(s.url("/api/v1/runs/leftover/abort"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_view_carries_each_faults_verification_state_and_coverage() {
    let s = TestServer::start().await;
    // A run whose podKill was seen on one of its two pods: the store as a run leaves it.
    s.store.create_run("unseen", "kill", "{}").unwrap();
    let applied = |n: usize| RunEvent::FaultApplied {
        fault: format!("unseen-f1-{n}"),
        kind: "podKill".into(),
        target: format!("pod shop/web-{n}"),
        step: "podKill#1".into(),
        agent: "kubernetes-api".into(),
        node: None,
    };
    let reason = "fault did not take effect: step podKill#1 (podKill) seen on 1/2 target(s) within 5s, 100% needed";
    for e in [
        RunEvent::StateChanged {
            to: RunState::CheckingBefore,
            reason: String::new(),
        },
        RunEvent::StateChanged {
            to: RunState::Injecting,
            reason: String::new(),
        },
        applied(0),
        applied(1),
        RunEvent::FaultUnverified {
            step: "podKill#1".into(),
            kind: "podKill".into(),
            affected: 1,
            selected: 2,
            evidence: "pod shop/web-1: pod uid u1 still there, not terminating (phase Running); pod shop/web-0: pod is gone (404)".into(),
        },
        RunEvent::StateChanged {
            to: RunState::Error,
            reason: reason.into(),
        },
    ] {
        s.store.record("unseen", &e).unwrap();
    }
    let r = get_json(&s, "/api/v1/runs/unseen").await;
    assert_eq!(r["verdict"], "error");
    let faults: Vec<(Value, Value, Value)> = r["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["state"].clone(),
                f["coverage"].clone(),
                f["evidence"].clone(),
            )
        })
        .collect();
    assert_eq!(
        faults,
        vec![
            (
                json!("unverified"),
                json!("1/2"),
                json!("pod is gone (404)")
            ),
            (
                json!("unverified"),
                json!("1/2"),
                json!("pod uid u1 still there, not terminating (phase Running)")
            ),
        ]
    );
    assert_eq!(
        r["verifications"],
        json!([{
            "step": "podKill#1", "kind": "podKill", "verified": false, "affected": 1,
            "selected": 2, "coverage": "1/2",
            "evidence": "pod shop/web-1: pod uid u1 still there, not terminating (phase Running); pod shop/web-0: pod is gone (404)",
        }])
    );
}

#[test]
fn no_auth_is_refused_off_loopback() {
    let open: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
    let lo: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
    assert!(check_bind(open, &Auth::Disabled).is_err());
    assert!(check_bind(lo, &Auth::Disabled).is_ok());
    let tokens = Auth::parse("viewer:x", "t").unwrap();
    assert!(check_bind(open, &tokens).is_ok());
}
