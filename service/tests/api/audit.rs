//! The audit log through the real HTTP server: every kind of action that changes
//! something is recorded with its actor and outcome, refusals included; only admins read
//! it; it pages newest first and filters; no verb changes a record.

use std::time::Duration;

use crate::support::*;
use faultline_test_support::{client, empty_http_server, proc_state, sleeper, wait_stopped};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The test server's token names: role and line of the tokens file.
const VIEWER_NAME: &str = "viewer#1";
const OPERATOR_NAME: &str = "operator#2";
const ADMIN_NAME: &str = "admin#3";

async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut r = client()
        .request(method, s.url(path))
        .header("content-type", "application/yaml")
        .body(body.to_string());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

/// `GET /api/v1/audit{query}` as the admin: the records.
async fn audit(s: &TestServer, query: &str) -> Vec<Value> {
    let page = audit_page(s, &format!("/api/v1/audit{query}")).await;
    page["records"].as_array().unwrap().clone()
}

async fn audit_page(s: &TestServer, path_or_url: &str) -> Value {
    let url = if path_or_url.starts_with("http") {
        path_or_url.to_string()
    } else {
        s.url(path_or_url)
    };
    let res = client().get(url).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The one record of `action` on `object` (newest), as (actor name, outcome, reason).
fn find<'a>(records: &'a [Value], action: &str, object: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["action"] == action && r["object"] == object)
        .unwrap_or_else(|| panic!("no {action} on {object} in {records:#?}"))
}

fn said(r: &Value) -> (&str, &str, &str, &str) {
    (
        r["actor"]["kind"].as_str().unwrap(),
        r["actor"]["name"].as_str().unwrap(),
        r["outcome"].as_str().unwrap(),
        r["reason"].as_str().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_that_changes_something_is_recorded_with_who_and_how_it_ended() {
    let s = TestServer::start().await;
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let spec = pause_yaml("audited", pid, port, "60s");

    // Catalog: added, then changed, then a refused (invalid) write.
    let r = send(
        &s,
        Method::POST,
        "/api/v1/experiments",
        Some(OPERATOR),
        &spec,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = send(
        &s,
        Method::POST,
        "/api/v1/experiments",
        Some(OPERATOR),
        &spec,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(
        &s,
        Method::POST,
        "/api/v1/experiments",
        Some(OPERATOR),
        "kind: nonsense\n",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A run started by name, then aborted by the operator; the fault is gone after.
    let r = send(
        &s,
        Method::POST,
        "/api/v1/experiments/audited/runs",
        Some(OPERATOR),
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await, "the pause never took effect");
    let r = client()
        .post(s.url(&format!("/api/v1/runs/{id}/abort")))
        .bearer_auth(OPERATOR)
        .json(&serde_json::json!({"reason": "enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let run = wait_verdict(&s.base, &id).await;
    assert_eq!(run["verdict"], "aborted");
    assert_ne!(proc_state(pid), 'T', "the pause outlived its aborted run");
    // Aborting a finished run is refused, and that is recorded too.
    let r = send(
        &s,
        Method::POST,
        &format!("/api/v1/runs/{id}/abort"),
        Some(OPERATOR),
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Emergency stop: engaged, a start refused while it holds, released by the admin.
    let r = send(
        &s,
        Method::POST,
        "/api/v1/emergency-stop",
        Some(OPERATOR),
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(
        &s,
        Method::POST,
        "/api/v1/experiments/audited/runs",
        Some(OPERATOR),
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = send(
        &s,
        Method::DELETE,
        "/api/v1/emergency-stop",
        Some(ADMIN),
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Refused credentials: none (401) and too low a role (403).
    let r = send(&s, Method::POST, "/api/v1/runs", None, &spec).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = send(&s, Method::POST, "/api/v1/runs", Some("not-a-token"), &spec).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = send(&s, Method::POST, "/api/v1/runs", Some(VIEWER), &spec).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = send(
        &s,
        Method::DELETE,
        "/api/v1/experiments/audited",
        Some(OPERATOR),
        "",
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let all = audit(&s, "?limit=1000").await;
    let puts: Vec<&Value> = all
        .iter()
        .filter(|r| r["action"] == "experiment.put")
        .collect();
    assert_eq!(puts.len(), 3, "{puts:#?}");
    // Newest first: the refused write, then "changed", then "added".
    assert_eq!(said(puts[0]).2, "refused");
    assert!(
        said(puts[0]).3.contains("invalid experiment"),
        "{:?}",
        puts[0]
    );
    assert_eq!(said(puts[1]), ("token", OPERATOR_NAME, "ok", "changed"));
    assert_eq!(said(puts[2]), ("token", OPERATOR_NAME, "ok", "added"));

    let starts: Vec<&Value> = all.iter().filter(|r| r["action"] == "run.start").collect();
    assert_eq!(starts.len(), 2, "{starts:#?}");
    assert_eq!(
        said(starts[1]),
        ("token", OPERATOR_NAME, "ok", &*format!("run {id}"))
    );
    assert_eq!(said(starts[0]).2, "refused");
    assert!(
        said(starts[0]).3.contains("emergency stop"),
        "{:?}",
        starts[0]
    );

    let aborts: Vec<&Value> = all
        .iter()
        .filter(|r| r["action"] == "run.abort" && r["object"] == id.as_str())
        .collect();
    assert_eq!(aborts.len(), 2, "{aborts:#?}");
    assert_eq!(said(aborts[1]), ("token", OPERATOR_NAME, "ok", "enough"));
    assert_eq!(said(aborts[0]).2, "refused");
    assert!(said(aborts[0]).3.contains("already finished"));

    let stop = find(&all, "emergency-stop.engage", "emergency-stop");
    assert_eq!(said(stop).1, OPERATOR_NAME);
    let resume = find(&all, "emergency-stop.release", "emergency-stop");
    assert_eq!(said(resume).0, "token");
    assert_eq!(said(resume).1, ADMIN_NAME);
    assert!(said(resume).3.contains(OPERATOR_NAME), "{resume}");

    let denied: Vec<&Value> = all
        .iter()
        .filter(|r| r["action"] == "api.access" && r["object"] == "POST /api/v1/runs")
        .collect();
    assert_eq!(denied.len(), 3, "{denied:#?}");
    assert_eq!(said(denied[0]).1, VIEWER_NAME);
    assert!(
        said(denied[0])
            .3
            .starts_with("403: this route needs the operator role")
    );
    for d in &denied[1..] {
        // Unknown callers are never named by what they sent.
        assert_eq!(said(d).1, "unknown");
        assert!(said(d).3.starts_with("401"), "{d}");
        assert!(!d.to_string().contains("not-a-token"), "{d}");
    }
    assert_eq!(said(find(&all, "experiment.delete", "audited")).2, "ok");
    drop(target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_read_the_audit_log() {
    let s = TestServer::start().await;
    for (token, want) in [
        (Some(VIEWER), StatusCode::FORBIDDEN),
        (Some(OPERATOR), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
        (Some(ADMIN), StatusCode::OK),
    ] {
        let r = send(&s, Method::GET, "/api/v1/audit", token, "").await;
        assert_eq!(r.status(), want, "{token:?}");
    }
    // The refusals themselves are in it.
    let denied = audit(&s, "?action=api.access&object=GET%20/api/v1/audit").await;
    let names: Vec<&str> = denied.iter().map(|r| said(r).1).collect();
    assert_eq!(names, ["unknown", OPERATOR_NAME, VIEWER_NAME]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_pages_newest_first_and_filters_by_every_field() {
    let s = TestServer::start().await;
    // Seven refused attempts, then two accepted catalog writes by another token.
    for _ in 0..7 {
        send(&s, Method::POST, "/api/v1/runs", Some(VIEWER), "").await;
    }
    // Stamps are kept to the millisecond, truncated: a mark taken in the same
    // millisecond as the last refusal's stamp would count that refusal as after it.
    // Clear milliseconds on both sides of the mark keep the split exact.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before_writes = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_web, port) = empty_http_server();
    for name in ["paged-a", "paged-b"] {
        let r = send(
            &s,
            Method::POST,
            "/api/v1/experiments",
            Some(OPERATOR),
            &pause_yaml(name, 1, port, "1s"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    // Pages of 3, following `next`, cover all nine once, ids strictly falling.
    let mut seen = Vec::new();
    let mut page = audit_page(&s, "/api/v1/audit?limit=3").await;
    loop {
        let records = page["records"].as_array().unwrap();
        assert!(records.len() <= 3);
        seen.extend(records.iter().map(|r| r["id"].as_i64().unwrap()));
        match page["next"].as_str() {
            Some(next) => page = audit_page(&s, next).await,
            None => break,
        }
    }
    assert_eq!(seen.len(), 9, "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {seen:?}"
    );

    // Filters, alone and together; `next` keeps them.
    assert_eq!(audit(&s, "?actor=viewer%231").await.len(), 7);
    assert_eq!(
        audit(&s, "?actor=operator%232&action=experiment.put")
            .await
            .len(),
        2
    );
    let b = audit(&s, "?object=paged-b").await;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["object"], "paged-b");
    assert_eq!(audit(&s, "?outcome=refused").await.len(), 7);
    assert_eq!(audit(&s, "?outcome=failed").await.len(), 0);
    let since = before_writes.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let recent = audit(&s, &format!("?since={since}")).await;
    assert_eq!(recent.len(), 2, "{recent:#?}");
    let older = audit(&s, &format!("?until={since}")).await;
    assert_eq!(older.len(), 7);
    let p = audit_page(&s, "/api/v1/audit?limit=4&actor=viewer%231").await;
    let next = p["next"].as_str().unwrap();
    assert!(next.contains("actor=viewer%231"), "{next}");
    assert_eq!(
        audit_page(&s, next).await["records"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Bad filters name the parameter.
    for (q, word) in [
        ("?action=run.delete", "action=run.delete"),
        ("?outcome=maybe", "outcome=maybe"),
        ("?since=yesterday", "since=yesterday"),
    ] {
        let r = send(
            &s,
            Method::GET,
            &format!("/api/v1/audit{q}"),
            Some(ADMIN),
            "",
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(word), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_api_verb_changes_a_record() {
    let s = TestServer::start().await;
    send(&s, Method::POST, "/api/v1/runs", Some(VIEWER), "").await;
    send(&s, Method::POST, "/api/v1/runs", None, "").await;
    let before = audit(&s, "?limit=1000").await;
    assert_eq!(before.len(), 2);
    let id = before[0]["id"].as_i64().unwrap();
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for path in [
            "/api/v1/audit".to_string(),
            format!("/api/v1/audit/{id}"),
            format!("/api/v1/audit?before={id}"),
        ] {
            let r = client()
                .request(method.clone(), s.url(&path))
                .bearer_auth(ADMIN)
                .json(&serde_json::json!({"reason": "rewritten", "outcome": "ok"}))
                .send()
                .await
                .unwrap();
            assert!(
                matches!(
                    r.status(),
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ),
                "{method} {path}: {}",
                r.status()
            );
        }
    }
    assert_eq!(audit(&s, "?limit=1000").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_refusal_is_recorded_as_a_refused_start() {
    let s = TestServer::start().await;
    let (_web, port) = empty_http_server();
    let (target, other) = (sleeper(), sleeper());
    let spec = pause_yaml("guarded", target.0.id(), port, "1s")
        .replace("  steps:\n", "  guard: { maxTargets: 1 }\n  steps:\n")
        + &format!(
            "    - name: again\n      processPause: {{}}\n      duration: 1s\n      target: {{ local: {{ pid: {} }} }}\n",
            other.0.id()
        );
    let r = send(&s, Method::POST, "/api/v1/runs", Some(OPERATOR), &spec).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = wait_verdict(&s.base, &id).await;
    assert_eq!(run["verdict"], "failed", "{run}");
    let starts = audit(&s, "?action=run.start&object=guarded").await;
    assert_eq!(starts.len(), 2, "{starts:#?}");
    let (kind, name, outcome, reason) = said(&starts[0]);
    assert_eq!((kind, name, outcome), ("token", OPERATOR_NAME, "refused"));
    assert!(reason.starts_with(&format!("run {id}: guard:")), "{reason}");
    assert_eq!(said(&starts[1]).2, "ok");
}
