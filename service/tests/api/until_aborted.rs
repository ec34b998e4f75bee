//! A fault without duration (`untilAborted`, a Chaos Mesh chaos without `duration`) through
//! the service: held until the API's abort or the emergency stop, bounded meanwhile by the
//! service's `maxDuration`, which the run's note names.

use std::time::{Duration, Instant};

use crate::support::*;
use faultline::domain::{RunEvent, RunState};
use faultline_test_support::{client, proc_state, sleeper, wait_stopped};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn until_aborted(name: &str, pid: u32) -> String {
    format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: {name} }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - processPause: {{}}\n      untilAborted: true\n"
    )
}

async fn start_run(s: &TestServer, body: &str) -> String {
    let res = client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .header("content-type", "application/yaml")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_terminal(s: &TestServer, id: &str) -> (RunState, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = s.store.run(id).unwrap();
        if run.state.is_terminal() {
            return (run.state, run.reason);
        }
        assert!(Instant::now() < deadline, "run {id} still {}", run.state);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn noted(s: &TestServer, id: &str, text: &str) -> bool {
    s.store
        .events(id)
        .unwrap()
        .into_iter()
        .any(|e| matches!(e.event, RunEvent::Note { ref message } if message.contains(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_abort_and_the_emergency_stop_end_a_fault_without_duration() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    // The service's bound (serve --max-duration 10m), far beyond the test.
    let s = TestServer::start_with(
        dir,
        |o, _| o.max_duration = Duration::from_secs(600),
        |_| {},
    )
    .await;

    // The API's abort.
    let first = sleeper();
    let id = start_run(&s, &until_aborted("ua-api", first.pid())).await;
    assert!(wait_stopped(first.pid()).await, "never paused");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(proc_state(first.pid()), 'T', "not held");
    let res = client()
        .post(s.url(&format!("/api/v1/runs/{id}/abort")))
        .bearer_auth(OPERATOR)
        .json(&json!({ "reason": "enough" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let (state, reason) = wait_terminal(&s, &id).await;
    assert_eq!(state, RunState::Aborted, "{reason}");
    assert!(reason.starts_with("enough"), "{reason}");
    assert_ne!(proc_state(first.pid()), 'T', "the pause outlived the abort");
    assert!(noted(
        &s,
        &id,
        "holds until the run is aborted, at most 10m"
    ));

    // The emergency stop.
    let second = sleeper();
    let id = start_run(&s, &until_aborted("ua-halt", second.pid())).await;
    assert!(wait_stopped(second.pid()).await, "never paused");
    let res = client()
        .post(s.url("/api/v1/emergency-stop"))
        .bearer_auth(OPERATOR)
        .json(&json!({ "reason": "game day over" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (state, reason) = wait_terminal(&s, &id).await;
    assert_eq!(state, RunState::Aborted, "{reason}");
    assert!(reason.contains("emergency stop"), "{reason}");
    assert_ne!(proc_state(second.pid()), 'T', "the pause outlived the stop");
    assert!(s.agent.list().await.unwrap().is_empty());
    assert!(noted(&s, &id, "holds until the run is aborted"));
}
