//! A schedule's options with a real service and scheduler: `@every 1s` over runs of ~3s.
//! Forbid never overlaps two runs (from the runs' stored start and end times) and shows
//! what it skipped; Allow overlaps them; `startingDeadline` makes up a time missed while
//! the scheduler was down, once, and skips one older than the deadline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use faultline::application::live::LiveRuns;
use faultline::application::ports::Storage;
use faultline::domain::RunRow;
use faultline_test_support::client;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

type Parts = Arc<Mutex<Option<(Arc<dyn Storage>, Arc<LiveRuns>)>>>;

async fn server() -> (TestServer, Parts) {
    let parts: Parts = Arc::default();
    let p = parts.clone();
    let s = TestServer::start_fresh_with(
        |_, _| {},
        move |svc| *p.lock().unwrap() = Some((svc.state.store.clone(), svc.live().clone())),
    )
    .await;
    (s, parts)
}

fn scheduler(parts: &Parts) -> tokio::task::JoinHandle<()> {
    let (store, live) = parts.lock().unwrap().clone().unwrap();
    faultline::application::schedule::spawn(store, live, Arc::new(|| true))
}

async fn add(s: &TestServer, name: &str, schedule: &str) {
    let yaml = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: {name} }}\nspec:\n  schedule: {schedule}\n  steps:\n    - suspend: 3s\n"
    );
    let res = client()
        .post(s.url("/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
}

/// The runs of `name`, oldest first, once every one has finished.
async fn finished_runs(s: &TestServer, name: &str) -> Vec<RunRow> {
    let give_up = Instant::now() + Duration::from_secs(15);
    loop {
        let mut runs: Vec<RunRow> = s
            .store
            .list_runs(1000)
            .unwrap()
            .into_iter()
            .filter(|r| r.experiment == name)
            .collect();
        if runs.iter().all(|r| r.state.is_terminal()) {
            runs.sort_by_key(|r| r.created_at);
            return runs;
        }
        assert!(Instant::now() < give_up, "runs of {name} never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn listed(s: &TestServer, name: &str) -> Value {
    let list = viewer_json(s.url("/api/v1/schedules")).await;
    list["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["experiment"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_skips_while_its_run_runs_and_allow_overlaps() {
    let (s, parts) = server().await;
    add(&s, "one-at-a-time", "'@every 1s'").await;
    add(
        &s,
        "side-by-side",
        "{ cron: '@every 1s', concurrencyPolicy: Allow }",
    )
    .await;
    let sched = scheduler(&parts);
    tokio::time::sleep(Duration::from_millis(7500)).await;
    sched.abort();

    let forbid = finished_runs(&s, "one-at-a-time").await;
    assert!((2..=3).contains(&forbid.len()), "{forbid:#?}");
    for pair in forbid.windows(2) {
        let end = pair[0].finished_at.unwrap();
        assert!(pair[1].created_at >= end, "Forbid overlapped: {pair:#?}");
    }
    let entry = listed(&s, "one-at-a-time").await;
    assert_eq!(entry["concurrencyPolicy"], "Forbid", "{entry}");
    assert_eq!(entry["started"], forbid.len() as u64, "{entry}");
    assert!(entry["skipped"].as_u64().unwrap() >= 3, "{entry}");
    let why = entry["lastSkip"]["why"].as_str().unwrap();
    assert!(
        why.contains("still runs (concurrencyPolicy Forbid)"),
        "{entry}"
    );

    let allow = finished_runs(&s, "side-by-side").await;
    assert!(allow.len() >= 6, "{allow:#?}");
    assert!(
        allow[1].created_at < allow[0].finished_at.unwrap(),
        "Allow did not overlap: {allow:#?}"
    );
    let entry = listed(&s, "side-by-side").await;
    assert_eq!(
        (
            entry["concurrencyPolicy"].as_str(),
            entry["skipped"].as_u64()
        ),
        (Some("Allow"), Some(0)),
        "{entry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_deadline_makes_up_a_missed_time_once_and_skips_an_older_one() {
    let (s, parts) = server().await;
    // A daily time two minutes ago: missed, since no scheduler was running then.
    let t = Utc::now() - chrono::Duration::minutes(2);
    let cron = format!("{} {} * * *", t.minute(), t.hour());
    add(
        &s,
        "made-up",
        &format!("{{ cron: '{cron}', startingDeadline: 5m, historyLimit: 2 }}"),
    )
    .await;
    add(
        &s,
        "too-late",
        &format!("{{ cron: '{cron}', startingDeadline: 90s }}"),
    )
    .await;
    add(&s, "never-made-up", &format!("'{cron}'")).await;
    let sched = scheduler(&parts);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sched.abort();
    assert_eq!(finished_runs(&s, "made-up").await.len(), 1);
    assert!(finished_runs(&s, "too-late").await.is_empty());
    assert!(finished_runs(&s, "never-made-up").await.is_empty());
    let entry = listed(&s, "made-up").await;
    assert_eq!(
        (
            entry["startingDeadline"].as_str(),
            entry["historyLimit"].as_u64()
        ),
        (Some("5m"), Some(2)),
        "{entry}"
    );
    let entry = listed(&s, "too-late").await;
    assert_eq!(entry["skipped"], 1, "{entry}");
    let why = entry["lastSkip"]["why"].as_str().unwrap();
    assert!(why.contains("past startingDeadline 1m30s"), "{entry}");

    // A restart does not run it twice: a run was created since its time.
    let sched = scheduler(&parts);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sched.abort();
    assert_eq!(finished_runs(&s, "made-up").await.len(), 1);
}
