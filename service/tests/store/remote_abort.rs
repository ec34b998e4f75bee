//! Aborting a run through a replica that does not drive it: the replica asked records the
//! request in the shared PostgreSQL store and answers 202; the replica driving the run
//! takes the request, recovers the fault and ends the run `aborted` with the caller's
//! reason and a note naming who asked. A run already finished is refused with 409.

use reqwest::StatusCode;
use serde_json::Value;

use faultline_test_support::{client, empty_http_server, proc_state, sleeper, wait_stopped};

use super::database;
use super::replicas::{replica, shared_agent};
use crate::support::{OPERATOR, pause_yaml, viewer_json, wait_verdict};

async fn abort(base: &str, run: &str, body: &str) -> (StatusCode, Value) {
    let res = client()
        .post(format!("{base}/api/v1/runs/{run}/abort"))
        .bearer_auth(OPERATOR)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_asked_of_another_replica_ends_the_run_aborted_with_the_reason() {
    let Some((_pg, url)) = database("remote_abort") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = shared_agent().await;
    let (_web, web_port) = empty_http_server();
    let driver = replica(dir.path(), "a", &url, &agent, &[]);
    let other = replica(dir.path(), "b", &url, &agent, &[]);
    let target = sleeper();
    let res = client()
        .post(format!("{}/api/v1/runs", driver.base))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("remote-abort", target.0.id(), web_port, "5m"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let run = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        wait_stopped(target.0.id()).await,
        "the pause never took effect"
    );

    let (status, body) = abort(&other.base, &run, r#"{"reason": "wrong cluster"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["drivenBy"], "another replica", "{body}");

    let ended = wait_verdict(&other.base, &run).await;
    assert_eq!(ended["verdict"], "aborted", "{ended}");
    let reason = ended["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("wrong cluster"), "{ended}");
    assert_ne!(
        proc_state(target.0.id()),
        'T',
        "the pause outlived the aborted run; logs in {}",
        dir.path().display()
    );
    let report = viewer_json(format!("{}/api/v1/runs/{run}/report.json", driver.base)).await;
    let text = report.to_string();
    assert!(
        text.contains("abort asked by") && text.contains("operator"),
        "the run does not say who asked: {text}"
    );

    // Finished: refused by either replica, saying so.
    for base in [&other.base, &driver.base] {
        let (status, body) = abort(base, &run, "").await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body.to_string().contains("already finished"), "{body}");
    }
    // An unknown run is a 404, not a recorded request.
    let (status, body) = abort(&other.base, "no-such-run", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
