//! Alert-driven abort through a real Alertmanager (Debian `prometheus-alertmanager`) on
//! loopback: an alert is pushed to Alertmanager's API, Alertmanager calls faultline's
//! `/webhooks/alertmanager` with its bearer token, and the run that lists the alert in
//! `spec.abortOnAlerts` is aborted — its paused target running again — while a run that
//! does not list it goes on. And the other direction: `spec.silenceAlerts` holds a silence
//! in that Alertmanager for the fault window, then expires it.

use std::time::{Duration, Instant};

use crate::support::*;
use faultline::domain::RunState;
use faultline_test_support::peers::alertmanager;
use faultline_test_support::{client, empty_http_server, proc_state, sleeper, wait_stopped};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn experiment(name: &str, pid: u32, port: u16, alert: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  abortOnAlerts: [{alert}]
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 200ms, timeout: 500ms }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: 60s
"#
    )
}

async fn state(s: &TestServer, id: &str) -> (RunState, String) {
    let r: Value = viewer_json(s.url(&format!("/api/v1/runs/{id}"))).await;
    (
        RunState::parse(r["verdict"].as_str().unwrap()).unwrap(),
        r["reason"].as_str().unwrap_or("").to_string(),
    )
}

async fn start(s: &TestServer, yaml: String) -> String {
    let res = client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_alert_from_alertmanager_aborts_the_runs_that_list_it() {
    let s = TestServer::start().await;
    let Some(am) = alertmanager(&s.url("/webhooks/alertmanager"), OPERATOR).await else {
        return;
    };
    let (_web, port) = empty_http_server();
    let (a, b) = (sleeper(), sleeper());
    let listed = start(&s, experiment("listed", a.0.id(), port, "CheckoutBurnRate")).await;
    let other = start(&s, experiment("other", b.0.id(), port, "SomethingElse")).await;
    assert!(
        wait_stopped(a.0.id()).await && wait_stopped(b.0.id()).await,
        "never paused"
    );

    let t0 = Instant::now();
    let res = client()
        .post(format!("{}/api/v2/alerts", am.url))
        .json(&json!([{ "labels": { "alertname": "CheckoutBurnRate", "severity": "page" } }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(30);
    let reason = loop {
        let (st, reason) = state(&s, &listed).await;
        if st.is_terminal() {
            assert_eq!(st, RunState::Aborted, "{reason}");
            break reason;
        }
        assert!(
            Instant::now() < deadline,
            "Alertmanager's alert never aborted the run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("alert pushed -> run aborted in {:?}", t0.elapsed());
    assert!(
        reason.contains("alert CheckoutBurnRate fired (Alertmanager"),
        "{reason}"
    );
    assert_ne!(proc_state(a.0.id()), 'T', "the pause outlived the abort");
    // The run that watches another alert goes on.
    let (st, _) = state(&s, &other).await;
    assert!(!st.is_terminal(), "{other} is {st}");
    assert_eq!(proc_state(b.0.id()), 'T');
    let res = client()
        .post(s.url(&format!("/api/v1/runs/{other}/abort")))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !state(&s, &other).await.0.is_terminal() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(
        proc_state(b.0.id()),
        'T',
        "the second pause outlived its abort"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_wants_a_token_and_alertmanagers_payload() {
    let s = TestServer::start().await;
    let url = s.url("/webhooks/alertmanager");
    let res = client()
        .post(&url)
        .json(&json!({ "version": "4", "alerts": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client()
        .post(&url)
        .bearer_auth(VIEWER)
        .json(&json!({ "version": "4", "alerts": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client()
        .post(&url)
        .bearer_auth(OPERATOR)
        .body("{\"alerts\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("alerts"));
    let res = client()
        .post(&url)
        .bearer_auth(OPERATOR)
        .json(&json!({ "version": "3", "alerts": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = client()
        .post(&url)
        .bearer_auth(OPERATOR)
        .json(&json!({ "version": "4", "status": "firing", "alerts": [{ "status": "firing", "labels": { "alertname": "Nobody" } }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["aborted"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_covers_the_fault_window_and_is_expired_after() {
    // The receiver URL is never called here; Alertmanager only holds the silence.
    let Some(am) = alertmanager("http://127.0.0.1:9/", OPERATOR).await else {
        return;
    };
    let am_url = am.url.clone();
    let s = TestServer::start_fresh_with(
        move |opts, store| {
            opts.observers.push(std::sync::Arc::new(
                faultline::outputs::SilenceObserver::new(&am_url, store.clone()).unwrap(),
            ));
        },
        |_| {},
    )
    .await;
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let yaml = format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: quiet }}
spec:
  target: {{ local: {{ pid: {} }} }}
  silenceAlerts: {{ namespace: checkout, team: sre }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 200ms, timeout: 500ms }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: 4s
"#,
        target.0.id()
    );
    let id = start(&s, yaml).await;
    assert!(wait_stopped(target.0.id()).await, "never paused");
    let silences = || async {
        client()
            .get(format!("{}/api/v2/silences", am.url))
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let silence = loop {
        if let Some(x) = silences()
            .await
            .into_iter()
            .find(|x| x["status"]["state"] == "active")
        {
            break x;
        }
        assert!(
            Instant::now() < deadline,
            "no active silence during the fault"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(silence["createdBy"], "faultline");
    assert!(silence["comment"].as_str().unwrap().contains(&id));
    let mut m: Vec<(String, String)> = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().into(),
                m["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    m.sort();
    assert_eq!(
        m,
        [
            ("namespace".to_string(), "checkout".to_string()),
            ("team".into(), "sre".into())
        ]
    );
    // It ends on its own even if nobody expires it: within the steps plus the margin.
    let ends = chrono::DateTime::parse_from_rfc3339(silence["endsAt"].as_str().unwrap()).unwrap();
    let left = ends.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        left > chrono::Duration::seconds(60) && left < chrono::Duration::seconds(320),
        "{left}"
    );
    // An alert with those labels fired now is suppressed by it.
    let res = client()
        .post(format!("{}/api/v2/alerts", am.url))
        .json(&json!([{ "labels": { "alertname": "CheckoutLatency", "namespace": "checkout", "team": "sre" } }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts: Vec<Value> = client()
            .get(format!("{}/api/v2/alerts", am.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if alerts.iter().any(|a| a["status"]["state"] == "suppressed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the alert was not silenced: {alerts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The run ends; the silence is expired.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !state(&s, &id).await.0.is_terminal() {
        assert!(Instant::now() < deadline, "run never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(proc_state(target.0.id()), 'T');
    let deadline = Instant::now() + Duration::from_secs(10);
    while silences()
        .await
        .iter()
        .any(|x| x["status"]["state"] == "active")
    {
        assert!(Instant::now() < deadline, "the silence outlived its run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
