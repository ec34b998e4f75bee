//! The web console at the HTTP level (issue 26): its security headers, pages with no
//! inline script or style, links under an ingress sub-path, escaping of what the URL
//! carries, `whoami` per role, and the console's data routes (timeline, active faults,
//! agents) on a real run. The browser tier (tests/browser/) drives the same pages in
//! chromium.

use faultline::api::console::{CSP, ConsoleSettings};
use faultline_test_support::{client, empty_http_server, proc_state, sleeper, wait_stopped};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const PAGES: [&str; 9] = [
    "/",
    "/signin",
    "/runs/abc123",
    "/experiments",
    "/experiments/checkout",
    "/schedules",
    "/agents",
    "/audit",
    "/access",
];

async fn get(s: &TestServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = client().get(s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn sub_path_server() -> TestServer {
    TestServer::start_with(
        std::sync::Arc::new(tempfile::tempdir().unwrap()),
        |_, _| {},
        |service| {
            let settings = ConsoleSettings::new(Some("https://example.org/chaos/"));
            service.state.console.set(settings).unwrap();
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_and_asset_is_served_with_a_strict_policy() {
    let s = TestServer::start().await;
    assert!(CSP.contains("default-src 'self'") && !CSP.contains("unsafe-inline"));
    for path in PAGES.iter().chain(&[
        "/assets/console.js",
        "/assets/console.css",
        "/assets/governance.js",
        "/assets/plan.js",
    ]) {
        let res = get(&s, path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        assert_eq!(h["content-security-policy"], CSP, "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let ct = h["content-type"].to_str().unwrap().to_string();
        let body = res.text().await.unwrap();
        if path.starts_with("/assets/") {
            assert!(
                ct.starts_with(if path.ends_with(".js") {
                    "text/javascript"
                } else {
                    "text/css"
                }),
                "{path}: {ct}"
            );
            continue;
        }
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        // Nothing the policy would have to allow inline.
        assert!(!body.contains("<script>"), "{path}: inline script");
        assert!(!body.contains("<style"), "{path}: inline stylesheet");
        assert!(!body.contains(" style="), "{path}: style attribute");
        assert!(!body.contains(" onclick="), "{path}: inline handler");
        assert!(
            body.contains(r#"<script src="/assets/console.js" defer></script>"#),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_an_ingress_sub_path_every_link_starts_with_it() {
    let s = sub_path_server().await;
    let body = get(&s, "/runs/abc", None).await.text().await.unwrap();
    assert!(body.contains(r#"data-base="/chaos/""#), "{body}");
    assert!(body.contains(r#"src="/chaos/assets/console.js""#), "{body}");
    assert!(
        body.contains(r#"href="/chaos/assets/console.css""#),
        "{body}"
    );
    assert!(body.contains(r#"href="/chaos/experiments""#), "{body}");
    // No link escapes the prefix.
    for attr in ["href=\"/", "src=\"/"] {
        for (i, _) in body.match_indices(attr) {
            let rest = &body[i + attr.len() - 1..];
            assert!(
                rest.starts_with("/chaos/"),
                "a link outside /chaos/: {}",
                &rest[..40.min(rest.len())]
            );
        }
    }
    // The script builds API calls from the same base.
    let js = get(&s, "/assets/console.js", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(js.contains(r#"base + "api/v1/" + path"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_the_url_is_escaped_in_the_page() {
    let s = TestServer::start().await;
    let res = get(
        &s,
        "/experiments/%3Cimg%20src=x%20onerror=alert(1)%3E",
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains("<img"), "{body}");
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_names_the_caller_and_what_the_role_allows() {
    let s = TestServer::start().await;
    assert_eq!(
        get(&s, "/api/v1/whoami", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&s, "/api/v1/whoami", Some("not-a-token"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The test server's tokens file names no token: each is called by its role and line.
    for (token, role, name, start, resume) in [
        (VIEWER, "viewer", "viewer#1", false, false),
        (OPERATOR, "operator", "operator#2", true, false),
        (ADMIN, "admin", "admin#3", true, true),
    ] {
        let res = get(&s, "/api/v1/whoami", Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let w: Value = res.json().await.unwrap();
        assert_eq!(w["role"], role);
        assert_eq!(w["name"], name);
        assert_eq!(w["auth"], "token");
        assert_eq!(w["canStart"], start);
        assert_eq!(w["canAbort"], start);
        assert_eq!(w["canStopAll"], start);
        assert_eq!(w["canResume"], resume);
        assert!(!w.to_string().contains(token), "the answer shows the token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emergency_stop_records_who_engaged_it_by_name() {
    let s = TestServer::start().await;
    let res = client()
        .post(s.url("/api/v1/emergency-stop"))
        .bearer_auth(OPERATOR)
        .json(&serde_json::json!({ "reason": "game day over" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h: Value = viewer_json(s.url("/api/v1/emergency-stop")).await;
    assert_eq!(h["halt"]["actor"], "token operator#2", "{h}");
    assert_eq!(h["halt"]["reason"], "game day over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_data_routes_need_a_token_and_show_a_real_run() {
    let s = TestServer::start().await;
    for path in [
        "/api/v1/agents",
        "/api/v1/runs/x/timeline.svg",
        "/api/v1/runs/x/active-faults",
    ] {
        assert_eq!(
            get(&s, path, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    assert_eq!(
        get(&s, "/api/v1/runs/nope/timeline.svg", Some(VIEWER))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let agents: Value = viewer_json(s.url("/api/v1/agents")).await;
    assert_eq!(agents["agents"][0]["location"], "in-process");
    assert_eq!(agents["agents"][0]["healthy"], true);

    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let res = client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .header("content-type", "application/yaml")
        .body(pause_yaml("console-data", pid, port, "2s"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await, "the target was never paused");
    // While the pause holds, the run lists it with its target and lease.
    let active: Value = viewer_json(s.url(&format!("/api/v1/runs/{id}/active-faults"))).await;
    let f = &active["faults"][0];
    assert_eq!(f["kind"], "processPause", "{active}");
    assert_eq!(f["executor"], "in-process");
    assert!(
        f["leaseExpires"].is_string() && f["targets"][0].is_string(),
        "{active}"
    );
    wait_verdict(&s.base, &id).await;
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    let active: Value = viewer_json(s.url(&format!("/api/v1/runs/{id}/active-faults"))).await;
    assert_eq!(active["faults"], serde_json::json!([]), "{active}");
    // The timeline is the report's picture: a fault window and check results.
    let res = get(&s, &format!("/api/v1/runs/{id}/timeline.svg"), Some(VIEWER)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    let svg = res.text().await.unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("<rect") && svg.contains("<circle"), "{svg}");
    assert!(svg.contains("processPause (pause)"), "{svg}");
    let html = get(&s, &format!("/api/v1/runs/{id}/report.html"), Some(VIEWER))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(
            svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
                .trim()
        )
    );
    // The list carries what the console shows.
    let list: Value = viewer_json(s.url("/api/v1/runs?experiment=console-data")).await;
    assert_eq!(list["runs"][0]["id"], id.as_str());
}
