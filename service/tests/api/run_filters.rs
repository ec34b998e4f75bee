//! The runs list's filters and the verdict trends over HTTP: each bad value is a 400 that
//! names its parameter, good ones pick the runs the store holds (whatever page), and the
//! `next` page keeps the filters.

use faultline::domain::{GitlabContext, RunEvent, RunState};
use faultline_test_support::client;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn get(s: &TestServer, path: &str) -> (StatusCode, Value) {
    let res = client()
        .get(s.url(path))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    // actix answers a parameter the query does not have in plain text, naming it.
    let body = serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({ "error": text }));
    (status, body)
}

fn ended(verdict: RunState) -> Vec<RunEvent> {
    [
        RunState::CheckingBefore,
        RunState::Injecting,
        RunState::Recovering,
        RunState::CheckingAfter,
        verdict,
    ]
    .map(|to| RunEvent::StateChanged {
        to,
        reason: String::new(),
    })
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filter_values_are_400s_naming_the_parameter() {
    let s = TestServer::start().await;
    for (query, named) in [
        ("verdict=great", "verdict=great"),
        ("verdict=observing", "verdict=observing"),
        ("since=yesterday", "since=yesterday"),
        ("until=2026-02-30T00:00:00Z", "until=2026-02-30"),
        ("project=a%20b", "project=a b"),
        (
            "verdict=passed&state=failed",
            "verdict=passed and state=failed",
        ),
        (
            "since=2026-12-07T10:00:00Z&until=2026-12-07T10:00:00Z",
            "is not before until",
        ),
        ("colour=red", "colour"),
    ] {
        let (status, body) = get(&s, &format!("/api/v1/runs?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(named), "{query}: {error}");
    }
    for last in ["0", "101", "many"] {
        let (status, body) = get(&s, &format!("/api/v1/verdict-trends?last={last}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{last}: {body}");
        assert!(body["error"].as_str().unwrap().contains("last="), "{body}");
    }
    s.stop("done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_reach_past_the_first_page_and_the_next_page_keeps_them() {
    let s = TestServer::start().await;
    let store = s.store.clone();
    // 5 failed runs of shop/cart, then 60 passed runs without a pipeline: the newest page
    // of everything holds none of the failed ones.
    let cart = GitlabContext {
        project_path: "shop/cart".into(),
        ..GitlabContext::default()
    };
    for i in 0..65 {
        let id = format!("run{i:03}");
        let (gitlab, verdict) = if i < 5 {
            (Some(&cart), RunState::Failed)
        } else {
            (None, RunState::Passed)
        };
        store.create_run_from(&id, "exp", "{}", gitlab).unwrap();
        store.record_all(&id, &ended(verdict)).unwrap();
    }
    let (status, body) = get(&s, "/api/v1/runs?verdict=failed&project=shop&limit=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["run004", "run003", "run002"]);
    let next = body["next"].as_str().unwrap();
    assert!(
        next.contains("state=failed")
            && next.contains("project=shop")
            && next.contains("before=run002"),
        "{next}"
    );
    let path = &next[next.find("/api/v1/").unwrap()..];
    let (_, page2) = get(&s, path).await;
    let ids: Vec<&str> = page2["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["run001", "run000"]);
    assert_eq!(page2["next"], Value::Null);

    let (_, trends) = get(&s, "/api/v1/verdict-trends?last=7").await;
    let strip = &trends["experiments"][0];
    assert_eq!(strip["experiment"], "exp", "{trends}");
    let runs = strip["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 7);
    assert_eq!(runs[0]["id"], "run064", "newest first");
    assert_eq!(runs[0]["verdict"], "passed");
    s.stop("done").await;
}
