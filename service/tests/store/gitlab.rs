//! Work the replicas share exactly once, through real `faultline serve` processes on one
//! PostgreSQL database: GitLab's retry of one webhook delivery sent to two replicas at
//! once starts one run; each run's verdict reaches the notification webhook once and each
//! GitLab commit status once, whichever replica's worker sends it; a schedule fires once
//! per time however many replicas run the scheduler.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use faultline_test_support::fakes::gitlab::{self as gitlab_fake, FakeGitlab};
use faultline_test_support::fakes::receiver::Receiver;
use faultline_test_support::{client, empty_http_server, sleeper};
use serde_json::Value;

use super::database;
use super::replicas::{Replica, replica, shared_agent};
use crate::support::{viewer_json, wait_verdict};

const HOOK_SECRET: &str = "mike-projects-secret-0001";

fn push_fixture() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/gitlab/push.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn deliver(base: &str, uuid: &str, body: String) -> reqwest::StatusCode {
    client()
        .post(format!("{base}/webhooks/gitlab"))
        .header("Content-Type", "application/json")
        .header("X-Gitlab-Event", "Push Hook")
        .header("X-Gitlab-Token", HOOK_SECRET)
        .header("X-Gitlab-Event-UUID", uuid)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn runs_of(base: &str, experiment: &str) -> Vec<Value> {
    let list = viewer_json(format!(
        "{base}/api/v1/runs?limit=100&experiment={experiment}"
    ))
    .await;
    list["runs"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_delivery_starts_one_run_verdicts_go_out_once_and_schedules_fire_once() {
    let Some((_pg, url)) = database("shared_work") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = shared_agent().await;
    let gitlab = FakeGitlab::start();
    let hooks = Receiver::start(Vec::new(), Box::new(|_| None)).await;
    let (_web, web_port) = empty_http_server();
    let (hook_target, sched_target) = (sleeper(), sleeper());

    let experiments = dir.path().join("experiments");
    std::fs::create_dir(&experiments).unwrap();
    std::fs::write(
        experiments.join("hook.yaml"),
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: ha-hook }}\nspec:\n  target: {{ local: {{ pid: {} }} }}\n  steadyState:\n    - name: availability\n      http: {{ url: \"http://127.0.0.1:{web_port}/\", every: 100ms, timeout: 500ms }}\n      expect: \">= 0.99\"\n  steps:\n    - name: pause\n      processPause: {{}}\n      duration: 1s\n",
            hook_target.0.id()
        ),
    )
    .unwrap();
    std::fs::write(
        experiments.join("sched.yaml"),
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: ha-sched }}\nspec:\n  schedule: \"*/2 * * * * *\"\n  target: {{ local: {{ pid: {} }} }}\n  steps:\n    - processPause: {{}}\n      duration: 200ms\n",
            sched_target.0.id()
        ),
    )
    .unwrap();
    let gitlab_cfg = dir.path().join("gitlab.yaml");
    std::fs::write(
        &gitlab_cfg,
        format!(
            "api: {{ url: \"{}\", token: \"{}\" }}\nprojects:\n  - path: \"mike/*\"\n    secret: {HOOK_SECRET}\nrules:\n  - name: pushes\n    events: [push]\n    experiments: [\"ha-hook\"]\n",
            gitlab.base,
            gitlab_fake::TOKEN
        ),
    )
    .unwrap();
    let notify_cfg = dir.path().join("notify.yaml");
    std::fs::write(
        &notify_cfg,
        format!(
            "webhook:\n  secret: notify-signing-secret-0001\nroutes:\n  - webhook: {}/verdicts\n    on: [passed, failed, aborted, error]\n",
            hooks.url
        ),
    )
    .unwrap();
    let extra = [
        "--gitlab-config",
        gitlab_cfg.to_str().unwrap(),
        "--notify-config",
        notify_cfg.to_str().unwrap(),
        "--experiments",
        experiments.to_str().unwrap(),
    ];
    let replicas: Vec<Replica> = ["a", "b", "c"]
        .iter()
        .map(|n| replica(dir.path(), n, &url, &agent, &extra))
        .collect();
    let scheduling_from = Utc::now();

    // GitLab's retry of one delivery reaches two replicas at the same moment.
    let body = push_fixture();
    let uuid = "0b6e1bd8-5d0c-4e0a-9b5c-4ee1f3c2a001";
    let (x, y) = tokio::join!(
        deliver(&replicas[0].base, uuid, body.clone()),
        deliver(&replicas[1].base, uuid, body.clone())
    );
    assert!(x.is_success() && y.is_success(), "{x} {y}");
    let hook_runs = runs_of(&replicas[2].base, "ha-hook").await;
    assert_eq!(hook_runs.len(), 1, "one delivery, one run: {hook_runs:?}");
    let hook_run = hook_runs[0]["id"].as_str().unwrap().to_string();
    let done = wait_verdict(&replicas[2].base, &hook_run).await;
    assert_eq!(done["verdict"], "passed", "{done}");

    // Let the schedule fire a few times on three replicas.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let mut created: Vec<DateTime<Utc>> = runs_of(&replicas[0].base, "ha-sched")
        .await
        .iter()
        .map(|r| r["createdAt"].as_str().unwrap().parse().unwrap())
        .collect();
    created.sort();
    assert!(
        created.len() >= 2,
        "the schedule fired {} times in 7 s",
        created.len()
    );
    for pair in created.windows(2) {
        // Due times are 2 s apart; two replicas firing one time would start two runs
        // within milliseconds of each other.
        assert!(
            pair[1] - pair[0] > chrono::Duration::milliseconds(1500),
            "a schedule time fired twice: {created:?} (since {scheduling_from})"
        );
    }

    // Every finished run's verdict went out once, whichever replica sent it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let finished: Vec<String> = loop {
        let all = runs_of(&replicas[0].base, "ha-hook")
            .await
            .into_iter()
            .chain(runs_of(&replicas[0].base, "ha-sched").await)
            .filter(|r| !r["finishedAt"].is_null())
            .map(|r| r["id"].as_str().unwrap().to_string());
        let finished: Vec<String> = all.collect();
        let got = hooks.got();
        let sent = |id: &str| {
            got.iter()
                .filter(|r| String::from_utf8_lossy(&r.body).contains(id))
                .count()
        };
        if finished.iter().all(|id| sent(id) >= 1) || Instant::now() > deadline {
            tokio::time::sleep(Duration::from_secs(2)).await; // room for a duplicate to show
            let got = hooks.got();
            for id in &finished {
                let n = got
                    .iter()
                    .filter(|r| String::from_utf8_lossy(&r.body).contains(id.as_str()))
                    .count();
                assert_eq!(n, 1, "run {id}'s verdict was sent {n} times");
            }
            break finished;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(finished.contains(&hook_run));

    // One commit status per state of the hook's run on GitLab.
    let statuses: Vec<String> = gitlab
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path.contains("/statuses/"))
        .filter_map(|s| s.body["state"].as_str().map(str::to_string))
        .collect();
    assert!(statuses.contains(&"success".to_string()), "{statuses:?}");
    let mut unique = statuses.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        statuses.len(),
        "a status was posted twice: {statuses:?}"
    );
    assert!(gitlab.problems().is_empty(), "{:?}", gitlab.problems());
}
