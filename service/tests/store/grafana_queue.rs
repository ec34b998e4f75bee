//! Grafana annotations from several `faultline serve` replicas on one PostgreSQL store go
//! through one shared queue: each annotation is posted once, by one replica, and the
//! annotations a replica queued but could not send (Grafana failing) are sent by another
//! replica after it is killed. Grafana is the documented-API stand-in of the outputs
//! tests, counting what it was sent.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use faultline_test_support::fakes::grafana::{FakeGrafana, Stored};
use faultline_test_support::{client, empty_http_server, sleeper, wait_stopped};
use reqwest::StatusCode;
use serde_json::Value;

use super::database;
use super::replicas::{Replica, replica, shared_agent};
use crate::support::{OPERATOR, pause_yaml, wait_verdict};

const TOKEN: &str = "grafana-sa-token-0123456789";

async fn start_run(r: &Replica, name: &str, pid: u32, web_port: u16) -> String {
    let res = client()
        .post(format!("{}/api/v1/runs", r.base))
        .bearer_auth(OPERATOR)
        .body(pause_yaml(name, pid, web_port, "300ms"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Successful `POST /api/annotations` so far.
fn posts(g: &FakeGrafana) -> usize {
    let st = g.state.lock().unwrap();
    st.requests
        .iter()
        .filter(|(m, p, s)| m == "POST" && p.starts_with("/api/annotations") && *s == 200)
        .count()
}

/// Run `run`'s annotations: its fault region and its verdict point.
fn of_run(g: &FakeGrafana, run: &str) -> Vec<Stored> {
    g.annotations()
        .into_iter()
        .filter(|a| a.text.contains(run))
        .collect()
}

/// Waits until run `run` has its region (ended, tagged with the verdict) and its verdict.
async fn wait_annotated(g: &FakeGrafana, run: &str, within: Duration, logs: &str) {
    let deadline = Instant::now() + within;
    loop {
        let got = of_run(g, run);
        let region_done = got
            .iter()
            .any(|a| a.time_end.is_some() && a.tags.iter().any(|t| t == "passed"));
        let verdict = got.iter().any(|a| a.tags.iter().any(|t| t == "verdict"));
        if region_done && verdict {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "run {run} not fully annotated: {got:?}; logs in {logs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_annotation_is_posted_once_even_when_the_replica_that_queued_it_dies() {
    let Some((_pg, url)) = database("grafana_queue") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().display().to_string();
    let agent = shared_agent().await;
    let (_web, web_port) = empty_http_server();
    let grafana = FakeGrafana::start(TOKEN);
    let token_file = dir.path().join("grafana-token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let grafana_url = grafana.url();
    let extra = [
        "--grafana-url",
        grafana_url.as_str(),
        "--grafana-token-file",
        token_file.to_str().unwrap(),
    ];
    let mut replicas: Vec<Replica> = ["a", "b", "c"]
        .iter()
        .map(|n| replica(dir.path(), n, &url, &agent, &extra))
        .collect();

    // One run through each replica: two annotations each, posted once in all.
    let targets = [sleeper(), sleeper(), sleeper(), sleeper()];
    let mut runs = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        runs.push(start_run(r, &format!("annotated-{i}"), targets[i].0.id(), web_port).await);
    }
    for run in &runs {
        assert_eq!(
            wait_verdict(&replicas[2].base, run).await["verdict"],
            "passed"
        );
        wait_annotated(&grafana, run, Duration::from_secs(20), &logs).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // room for a duplicate to show
    assert_eq!(
        posts(&grafana),
        2 * runs.len(),
        "an annotation posted twice"
    );
    for run in &runs {
        assert_eq!(of_run(&grafana, run).len(), 2, "run {run}");
    }

    // Grafana fails while replica a runs one more: its annotations wait in the queue,
    // held by replica a, which is then killed. Another replica sends them.
    grafana.fail.store(true, Ordering::SeqCst);
    let run = start_run(&replicas[0], "orphaned", targets[3].0.id(), web_port).await;
    assert!(
        wait_stopped(targets[3].0.id()).await,
        "the pause never took effect"
    );
    assert_eq!(
        wait_verdict(&replicas[1].base, &run).await["verdict"],
        "passed"
    );
    replicas[0].proc.0.kill().unwrap();
    replicas[0].proc.0.wait().unwrap();
    assert!(
        of_run(&grafana, &run).is_empty(),
        "sent while Grafana failed"
    );
    grafana.fail.store(false, Ordering::SeqCst);
    wait_annotated(&grafana, &run, Duration::from_secs(40), &logs).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(of_run(&grafana, &run).len(), 2, "run {run}");
    assert_eq!(
        posts(&grafana),
        2 * (runs.len() + 1),
        "an annotation posted twice"
    );
    assert!(
        grafana.violations().is_empty(),
        "{:?}",
        grafana.violations()
    );
}
