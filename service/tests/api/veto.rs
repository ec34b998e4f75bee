//! The preflight veto against a loopback veto service: it is sent the run's plan before
//! anything is injected; an allow lets the fault in, a refusal or (failing closed) no
//! answer in time ends the run `aborted` with `vetoed: <reason>` and nothing injected —
//! the target never stopped, the agent never asked, no fault event, no active fault —
//! while failing open lets the run go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use faultline::application::governance::Preflight;
use faultline::outputs::veto::HttpVeto;
use faultline_test_support::fakes::Receiver;
use faultline_test_support::{client, empty_http_server, proc_state, sleeper, tokio_listener};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn server_with_veto(url: &str, timeout: Duration, fail_open: bool) -> TestServer {
    let veto = HttpVeto::new(url, timeout).unwrap();
    TestServer::start_fresh_with(
        move |opts, _| {
            opts.preflight = Some(Preflight {
                veto: Arc::new(veto),
                fail_open,
            })
        },
        |_| {},
    )
    .await
}

/// A veto service that accepts connections and never answers.
fn silent_veto() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio_listener();
    let url = format!("http://{}/veto", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (url, task)
}

/// Runs a pause of a fresh process to its verdict while watching the process; returns
/// the run and whether the process was ever seen stopped.
async fn run_watched(s: &TestServer, name: &str) -> (Value, bool) {
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let stopped = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stopped, done) = (stopped.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                if proc_state(pid) == 'T' {
                    stopped.store(true, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let r = client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .header("content-type", "application/yaml")
        .body(pause_yaml(name, pid, port, "1s"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = wait_verdict(&s.base, &id).await;
    done.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    (run, stopped.load(Ordering::SeqCst))
}

/// Nothing was injected: no fault event, no fault the agent or the store holds.
async fn nothing_injected(s: &TestServer, run: &Value, stopped: bool) {
    assert!(!stopped, "the target was stopped despite the veto");
    let events = run["events"].as_array().unwrap();
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == "faultApplied" || e["to"] == "injecting"),
        "{events:#?}"
    );
    assert!(s.agent.list().await.unwrap().is_empty());
    assert!(s.store.active_faults().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowing_veto_is_sent_the_plan_and_the_fault_goes_in() {
    let veto = Receiver::start(
        vec![(200, Vec::new(), r#"{"allow": true}"#.into())],
        Box::new(|_| None),
    )
    .await;
    let s = server_with_veto(&format!("{}/veto", veto.url), Duration::from_secs(5), false).await;
    let (run, stopped) = run_watched(&s, "veto-allowed").await;
    assert_eq!(run["verdict"], "passed", "{run}");
    assert!(stopped, "the fault never went in");
    let got = veto.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/veto");
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    let plan: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(plan["run"], run["run"]);
    assert_eq!(plan["experiment"], "veto-allowed");
    assert_eq!(
        plan["trigger"],
        serde_json::json!({"kind": "token", "name": "operator#2"})
    );
    assert_eq!(
        plan["faults"],
        serde_json::json!([{"step": "pause", "kind": "processPause"}])
    );
    assert!(plan["targets"][0]["local"]["pid"].is_u64(), "{plan}");
    assert_eq!(plan["namespaces"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_ends_the_run_vetoed_with_its_reason_and_nothing_injected() {
    let veto = Receiver::start(
        vec![(
            200,
            Vec::new(),
            r#"{"allow": false, "reason": "incident INC-7 is open"}"#.into(),
        )],
        Box::new(|_| None),
    )
    .await;
    let s = server_with_veto(&veto.url, Duration::from_secs(5), false).await;
    let (run, stopped) = run_watched(&s, "veto-denied").await;
    assert_eq!(run["verdict"], "aborted", "{run}");
    assert_eq!(run["reason"], "vetoed: incident INC-7 is open");
    nothing_injected(&s, &run, stopped).await;
    let audit = admin_json(s.url("/api/v1/audit?action=run.veto")).await;
    let r = &audit["records"][0];
    assert_eq!(r["object"], run["run"]);
    assert_eq!(
        (r["outcome"].as_str(), r["reason"].as_str()),
        (Some("refused"), Some("incident INC-7 is open"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_2xx_answer_is_a_refusal() {
    let veto = Receiver::start(
        vec![(503, Vec::new(), "change freeze".into())],
        Box::new(|_| None),
    )
    .await;
    let s = server_with_veto(&veto.url, Duration::from_secs(5), false).await;
    let (run, stopped) = run_watched(&s, "veto-503").await;
    assert_eq!(run["verdict"], "aborted", "{run}");
    assert_eq!(
        run["reason"],
        "vetoed: HTTP 503 Service Unavailable: change freeze"
    );
    nothing_injected(&s, &run, stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_in_time_fails_closed_by_default() {
    let (url, _silent) = silent_veto();
    let s = server_with_veto(&url, Duration::from_millis(500), false).await;
    let (run, stopped) = run_watched(&s, "veto-silent").await;
    assert_eq!(run["verdict"], "aborted", "{run}");
    assert_eq!(
        run["reason"],
        "vetoed: the veto gave no decision (no answer within 500ms); failing closed"
    );
    nothing_injected(&s, &run, stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_in_time_lets_the_run_go_on_when_failing_open() {
    let (url, _silent) = silent_veto();
    let s = server_with_veto(&url, Duration::from_millis(500), true).await;
    let (run, stopped) = run_watched(&s, "veto-open").await;
    assert_eq!(run["verdict"], "passed", "{run}");
    assert!(stopped, "the fault never went in");
}
