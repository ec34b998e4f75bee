//! The GitLab webhook end to end: a real faultline service on loopback with the
//! in-process agent, GitLab's documented payloads (tests/fixtures/gitlab), a `sleep`
//! process as the fault target, a Python HTTP server as the system under test, and a
//! local stand-in for GitLab's REST API that receives the commit statuses and MR notes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use faultline::api::GitlabHooks;
use faultline::api::webhooks::install;
use faultline::application::gitlab_trigger::GitlabConfig;
use faultline::application::gitlab_trigger::config::ApiSettings;
use faultline::application::ports::Outbox;
use faultline::gitlab::{GitlabClient, GitlabObserver};
use faultline::notify::{Channels, Notifier, NotifyConfig, RetryPolicy, Templates};
use faultline_test_support::fakes::gitlab::{self as gitlab_fake, FakeGitlab};
use faultline_test_support::{
    EmptySite, Proc, client, empty_http_server, proc_state, sleeper, wait_stopped,
};
use reqwest::StatusCode;
use serde_json::Value;

const SECRET_ROOT: &str = "root-projects-secret-0001";
const SECRET_ORG: &str = "gitlab-org-secret-000002";
const DEPLOY_SHA: &str = "279484c09fbe69ededfced8c1bb6e6d24616b468";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/gitlab/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn config(gitlab: &str) -> GitlabConfig {
    let text = format!(
        r#"api: {{ url: "{gitlab}", token: "{}" }}
projects:
  - path: "root/*"
    secret: {SECRET_ROOT}
  - path: "gitlab-org/*"
    secret: {SECRET_ORG}
rules:
  - name: after-staging-deploy
    events: [deployment]
    status: [success]
    environments: [staging]
    experiments: ["deploy-*"]
  - name: mr-pipelines
    events: [pipeline]
    status: [success]
    experiments: ["mr-*"]
  - name: pushes-to-main
    events: [push]
    refs: [main]
    experiments: ["deploy-*"]
"#,
        gitlab_fake::TOKEN
    );
    GitlabConfig::parse(&text, "gitlab.yaml").unwrap()
}

/// Experiment `name` pausing `pid` for `duration`, judged by an HTTP check on `url`
/// (which may be a template value).
fn experiment(name: &str, pid: u32, url: &str, duration: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "{url}", every: 100ms, timeout: 500ms }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: {duration}
"#
    )
}

struct Rig {
    server: TestServer,
    gitlab: FakeGitlab,
    _notifier: Notifier,
    _web: EmptySite,
    web_port: u16,
    target: Proc,
}

async fn rig() -> Rig {
    let gitlab = FakeGitlab::start();
    let (web, web_port) = empty_http_server();
    let target = sleeper();
    let notifier: Arc<Mutex<Option<Notifier>>> = Arc::default();
    let slot = notifier.clone();
    let api = ApiSettings {
        url: gitlab.base.clone(),
        token: gitlab_fake::TOKEN.into(),
    };
    let gl = GitlabClient::new(&api).unwrap();
    let hooks_client = gl.clone();
    let cfg = config(&gitlab.base);
    let counted = notifier.clone();
    let server = TestServer::start_fresh_with(
        move |opts, store| {
            let channels = Channels::new(
                NotifyConfig {
                    report_url: Some("http://faultline.test/api/v1/runs/{run}/report.html".into()),
                    ..NotifyConfig::default()
                },
                Templates::load(None).unwrap(),
            )
            .unwrap()
            .with_gitlab(gl);
            let policy = RetryPolicy {
                base: Duration::from_millis(100),
                max_delay: Duration::from_millis(400),
                max_attempts: 6,
            };
            let n = Notifier::start(channels, store.clone(), policy);
            opts.observers
                .push(Arc::new(GitlabObserver::new(n.outbox().clone())));
            *slot.lock().unwrap() = Some(n);
        },
        move |service| {
            let outbox = counted.lock().unwrap().as_ref().map(|n| n.outbox().clone());
            if let Some(o) = &outbox {
                o.count_with(service.state.metrics.clone());
            }
            install(
                &service.state,
                GitlabHooks {
                    config: cfg,
                    previews: Some(Arc::new(hooks_client)),
                    outbox: outbox.map(|o| -> Arc<dyn Outbox> { Arc::new(o) }),
                },
            )
        },
    )
    .await;
    let pid = target.0.id();
    for (name, url) in [
        ("deploy-pause", "{{ gitlab.environment_url }}/".to_string()),
        ("mr-pause", format!("http://127.0.0.1:{web_port}/")),
    ] {
        let res = client()
            .post(server.url("/api/v1/experiments"))
            .bearer_auth(OPERATOR)
            .body(experiment(name, pid, &url, "1s"))
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
    let notifier = notifier.lock().unwrap().take().unwrap();
    Rig {
        server,
        gitlab,
        _notifier: notifier,
        _web: web,
        web_port,
        target,
    }
}

async fn deliver(
    s: &TestServer,
    event: &str,
    token: Option<&str>,
    uuid: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = client()
        .post(s.url("/webhooks/gitlab"))
        .header("Content-Type", "application/json")
        .header("X-Gitlab-Event", event)
        .header("User-Agent", "GitLab/18.10.0")
        .header("X-Gitlab-Instance", "https://gitlab.example.org")
        .body(body);
    if let Some(t) = token {
        req = req.header("X-Gitlab-Token", t);
    }
    if let Some(u) = uuid {
        req = req.header("X-Gitlab-Event-UUID", u);
    }
    req.send().await.unwrap()
}

async fn run_report(s: &TestServer, id: &str) -> Value {
    wait_verdict(&s.base, id).await
}

/// Waits for GitLab to hold `state` for `name` on `sha`.
async fn gitlab_status(g: &FakeGitlab, sha: &str, name: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while g.status(sha, name).as_deref() != Some(state) {
        assert!(
            Instant::now() < deadline,
            "GitLab status {name} is {:?}, not {state}; requests: {:#?}",
            g.status(sha, name),
            g.seen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staging_deployment_runs_the_matching_experiment_and_gates_the_commit() {
    let r = rig().await;
    let mut payload = fixture("deployment");
    payload["environment_external_url"] = format!("http://127.0.0.1:{}", r.web_port).into();
    let body = serde_json::to_vec(&payload).unwrap();
    let res = deliver(
        &r.server,
        "Deployment Hook",
        Some(SECRET_ROOT),
        Some("uuid-deploy-1"),
        body.clone(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    let runs = answer["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{answer}");
    assert_eq!(runs[0]["experiment"], "deploy-pause");
    assert_eq!(runs[0]["rule"], "after-staging-deploy");
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(runs[0]["url"], r.server.url(&format!("/api/v1/runs/{id}")));

    // GitLab retries what it thinks failed: the same delivery is answered, not re-run.
    let again = deliver(
        &r.server,
        "Deployment Hook",
        Some(SECRET_ROOT),
        Some("uuid-deploy-1"),
        body,
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["runs"][0]["id"], id.as_str());

    let report = run_report(&r.server, &id).await;
    assert_eq!(report["verdict"], "passed", "{report:#}");
    assert_ne!(
        proc_state(r.target.0.id()),
        'T',
        "the pause outlived its run"
    );
    // The run knows where it came from; the template took the environment's URL.
    assert_eq!(report["gitlab"]["sha"], DEPLOY_SHA);
    assert_eq!(report["gitlab"]["environment"], "staging");
    assert_eq!(
        report["gitlab"]["projectPath"],
        "root/test-deployment-webhooks"
    );
    assert_eq!(r.server.store.list_runs(10).unwrap().len(), 1);

    gitlab_status(&r.gitlab, DEPLOY_SHA, "faultline/deploy-pause", "success").await;
    let posts: Vec<_> = r
        .gitlab
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/statuses/"))
        .collect();
    assert_eq!(
        posts[0].path,
        format!("/api/v4/projects/30/statuses/{DEPLOY_SHA}")
    );
    let states: Vec<&str> = posts
        .iter()
        .map(|p| p.body["state"].as_str().unwrap())
        .collect();
    for want in ["pending", "running", "success"] {
        assert!(states.contains(&want), "no {want} status among {states:?}");
    }
    let last = posts.last().unwrap();
    assert_eq!(last.body["state"], "success");
    assert_eq!(
        last.body["target_url"],
        format!("http://faultline.test/api/v1/runs/{id}/report.html")
    );
    assert!(
        last.body["description"]
            .as_str()
            .unwrap()
            .starts_with("passed"),
        "{:?}",
        last.body
    );
    assert!(
        r.gitlab.notes().is_empty(),
        "a deployment belongs to no merge request"
    );
    assert!(r.gitlab.problems().is_empty(), "{:?}", r.gitlab.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_request_pipelines_keep_one_note_and_survive_a_gitlab_outage() {
    let r = rig().await;
    let payload = fixture("pipeline");
    let sha = payload["object_attributes"]["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let first = deliver(
        &r.server,
        "Pipeline Hook",
        Some(SECRET_ORG),
        Some("uuid-p1"),
        serde_json::to_vec(&payload).unwrap(),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let id1 = first["runs"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(run_report(&r.server, &id1).await["verdict"], "passed");
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.gitlab.notes().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no MR note: {:#?}",
            r.gitlab.seen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let note = &r.gitlab.notes()[0];
    assert!(
        note.contains("<!-- faultline:verdict:mr-pause -->"),
        "{note}"
    );
    assert!(note.contains("PASSED") && note.contains(&id1), "{note}");
    assert!(note.contains("| availability | before |"), "{note}");
    gitlab_status(&r.gitlab, &sha, "faultline/mr-pause", "success").await;

    // GitLab is down for the next status posts: the verdict still arrives, and the second
    // run's note replaces the first instead of adding one.
    r.gitlab.fail_statuses(&[503, 429, 502]);
    let second = deliver(
        &r.server,
        "Pipeline Hook",
        Some(SECRET_ORG),
        Some("uuid-p2"),
        serde_json::to_vec(&payload).unwrap(),
    )
    .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.unwrap();
    let id2 = second["runs"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(id1, id2);
    assert_eq!(run_report(&r.server, &id2).await["verdict"], "passed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !r.gitlab.notes()[0].contains(&id2) {
        assert!(
            Instant::now() < deadline,
            "note not updated: {:#?}",
            r.gitlab.seen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(r.gitlab.notes().len(), 1, "one note per experiment and MR");
    let seen = r.gitlab.seen();
    assert!(
        seen.iter()
            .any(|s| s.method == "PUT" && s.path.contains("/merge_requests/1/notes/"))
    );
    let posts = seen
        .iter()
        .filter(|s| s.path.contains("/statuses/"))
        .count();
    assert!(
        posts >= 4 + 3,
        "the outage's three refusals were retried ({posts} posts)"
    );
    assert!(r.gitlab.problems().is_empty(), "{:?}", r.gitlab.problems());
    let metrics = client()
        .get(r.server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"faultline_notifications_total{channel="gitlab",outcome="retry"} 3"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"faultline_notifications_total{channel="gitlab",outcome="sent"}"#));
    // The outbox holds each GitLab post once, all sent.
    let rows = r.server.store.notifications(&id2).unwrap();
    assert!(
        rows.iter()
            .all(|n| n.status == faultline::application::ports::NotificationStatus::Sent),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_bodies_and_unwanted_events_run_nothing() {
    let r = rig().await;
    let s = &r.server;
    let deploy = serde_json::to_vec(&fixture("deployment")).unwrap();
    // (event header, token, body, expected status, text the answer must contain)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "Deployment Hook",
            None,
            deploy.clone(),
            StatusCode::UNAUTHORIZED,
            "missing X-Gitlab-Token",
        ),
        (
            "Deployment Hook",
            Some("not-the-secret-at-all"),
            deploy.clone(),
            StatusCode::UNAUTHORIZED,
            "matches no configured",
        ),
        // gitlab-org's secret does not open root/'s projects.
        (
            "Deployment Hook",
            Some(SECRET_ORG),
            deploy.clone(),
            StatusCode::UNAUTHORIZED,
            "not the secret of project root/test-deployment-webhooks",
        ),
        (
            "Deployment Hook",
            Some(SECRET_ROOT),
            b"{\"object_kind\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "not JSON",
        ),
        (
            "Pipeline Hook",
            Some(SECRET_ROOT),
            deploy.clone(),
            StatusCode::BAD_REQUEST,
            "says Pipeline Hook but object_kind is",
        ),
        (
            "Deployment Hook",
            Some(SECRET_ROOT),
            vec![b' '; (1 << 20) + 10],
            StatusCode::PAYLOAD_TOO_LARGE,
            "over",
        ),
        (
            "Note Hook",
            Some(SECRET_ROOT),
            b"{}".to_vec(),
            StatusCode::ACCEPTED,
            "not an event faultline acts on",
        ),
    ];
    for (event, token, body, want, text) in cases {
        let res = deliver(s, event, token, None, body).await;
        assert_eq!(res.status(), want, "{event} {token:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(text), "{event} {token:?}: {body}");
    }
    // Valid events that no rule wants say why.
    let mut push = fixture("push");
    push["project"]["path_with_namespace"] = "root/diaspora".into();
    let res = deliver(
        s,
        "Push Hook",
        Some(SECRET_ROOT),
        None,
        serde_json::to_vec(&push).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let why: Value = res.json().await.unwrap();
    let why = why["ignored"].as_str().unwrap();
    assert!(
        why.contains("rule pushes-to-main: ref \"master\" does not match"),
        "{why}"
    );
    let mut running = fixture("deployment");
    running["status"] = "running".into();
    let res = deliver(
        s,
        "Deployment Hook",
        Some(SECRET_ROOT),
        None,
        serde_json::to_vec(&running).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.text().await.unwrap().contains("status \\\"running\\\""));
    let res = client()
        .post(s.url("/webhooks/gitlab"))
        .header("X-Gitlab-Token", SECRET_ROOT)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    assert!(s.store.list_runs(10).unwrap().is_empty(), "nothing may run");
    // The three refused secrets are audited, without what was sent.
    let refused = s
        .store
        .find_audit(&faultline::application::ports::AuditQuery {
            object: Some("POST /webhooks/gitlab".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(refused.len(), 3, "{refused:#?}");
    for r in &refused {
        assert_eq!(r.outcome, faultline::domain::AuditOutcome::Refused);
        let shown = serde_json::to_string(r).unwrap();
        assert!(
            !shown.contains("not-the-secret") && !shown.contains(SECRET_ORG),
            "{shown}"
        );
    }
    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"faultline_webhook_requests_total{event="deployment",outcome="unauthorized"} 3"#,
        r#"faultline_webhook_requests_total{event="push",outcome="ignored"} 1"#,
        r#"faultline_webhook_requests_total{event="unknown",outcome="ignored"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emergency_stop_aborts_runs_and_refuses_every_trigger_until_an_admin_releases_it() {
    let r = rig().await;
    let s = &r.server;
    let pid = r.target.0.id();
    let long = experiment(
        "long-pause",
        pid,
        &format!("http://127.0.0.1:{}/", r.web_port),
        "30s",
    );
    let res = client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(long.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await, "never paused");

    let stop = |token: &'static str| {
        client()
            .post(s.url("/api/v1/emergency-stop"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "reason": "checkout is on fire" }))
            .send()
    };
    assert_eq!(stop(VIEWER).await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = stop(OPERATOR).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["aborted"][0], id.as_str());
    let report = run_report(s, &id).await;
    assert_eq!(report["verdict"], "aborted");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("checkout is on fire"),
        "{report}"
    );
    assert_ne!(
        proc_state(pid),
        'T',
        "the pause outlived the emergency stop"
    );

    // Every trigger is refused: the API, a run by name, the webhook.
    let res = client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(long)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().await.unwrap().contains("checkout is on fire"));
    let res = client()
        .post(s.url("/api/v1/experiments/mr-pause/runs"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let pipeline = serde_json::to_vec(&fixture("pipeline")).unwrap();
    let res = deliver(s, "Pipeline Hook", Some(SECRET_ORG), None, pipeline.clone()).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.text().await.unwrap().contains("emergency stop engaged"));
    assert_eq!(s.store.list_runs(10).unwrap().len(), 1);
    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("faultline_emergency_stop 1"));

    // Only an admin releases it; then triggers work again.
    let release = |token: &'static str| {
        client()
            .delete(s.url("/api/v1/emergency-stop"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        release(OPERATOR).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let state: Value = viewer_json(s.url("/api/v1/emergency-stop")).await;
    assert_eq!(state["engaged"], true);
    assert_eq!(release(ADMIN).await.unwrap().status(), StatusCode::OK);
    let res = deliver(s, "Pipeline Hook", Some(SECRET_ORG), None, pipeline).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["runs"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(run_report(s, &id).await["verdict"], "passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emergency_stop_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faultline.db");
    let open = |store: Arc<faultline::store::Store>| {
        let agent =
            faultline_agent::client::AgentClient::new("http://127.0.0.1:9".to_string(), None)
                .unwrap();
        faultline::api::Service::open(
            store,
            faultline::application::engine::inject::Injector::Remote(agent),
            faultline::application::engine::runner::RunOptions::default(),
            faultline::api::Auth::Disabled,
        )
        .unwrap()
    };
    let first = open(Arc::new(faultline::store::Store::open(&path).unwrap()));
    first
        .state
        .store
        .halt("frozen for the release", "admin")
        .unwrap();
    drop(first);
    // A new process over the same store file: the stop is still engaged.
    let second = open(Arc::new(faultline::store::Store::open(&path).unwrap()));
    let exp = faultline_spec::load_str(&pause_yaml("after-restart", 1, 9, "1s"), "t.yaml")
        .unwrap()
        .remove(0);
    let e = second.live().start(exp).unwrap_err();
    assert!(e.to_string().contains("frozen for the release"), "{e}");
    assert!(second.state.store.list_runs(10).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ci_job_reports_to_its_own_pipeline_and_a_dry_run_previews_on_the_merge_request() {
    let r = rig().await;
    let s = &r.server;
    let sha = "bcbb5ec396a2c0f828686f14fac9b80b780504f2";
    let yaml = experiment(
        "ci-pause",
        r.target.0.id(),
        &format!("http://127.0.0.1:{}/", r.web_port),
        "1s",
    );
    let envelope = |dry: bool, path: &str, sha: &str| {
        serde_json::json!({
            "experiment": yaml,
            "dryRun": dry,
            "gitlab": { "event": "ci", "projectId": 1, "projectPath": path, "sha": sha, "pipelineId": 31, "mrIid": 1, "gitRef": "feature" },
        })
    };
    let post = |body: Value| {
        client()
            .post(s.url("/api/v1/runs"))
            .bearer_auth(OPERATOR)
            .json(&body)
            .send()
    };

    // A dry run from a merge-request pipeline: the plan, and a preview note on the MR.
    let res = post(envelope(true, "gitlab-org/gitlab-test", sha))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let plan: Value = res.json().await.unwrap();
    assert_eq!(plan["dryRun"], true);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !r
        .gitlab
        .notes()
        .iter()
        .any(|n| n.contains("<!-- faultline:preview:ci-pause -->"))
    {
        assert!(
            Instant::now() < deadline,
            "no preview note: {:#?}",
            r.gitlab.seen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let preview = r
        .gitlab
        .notes()
        .into_iter()
        .find(|n| n.contains("preview"))
        .unwrap();
    assert!(
        preview.contains("`processPause`") && preview.contains("guards allow"),
        "{preview}"
    );
    assert!(
        s.store.list_runs(10).unwrap().is_empty(),
        "a dry run creates no run"
    );

    // The run itself: status on the job's pipeline, verdict note beside the preview.
    let res = post(envelope(false, "gitlab-org/gitlab-test", sha))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(run_report(s, &id).await["gitlab"]["pipelineId"], 31);
    gitlab_status(&r.gitlab, sha, "faultline/ci-pause", "success").await;
    let last = r
        .gitlab
        .seen()
        .into_iter()
        .rfind(|x| x.path.contains("/statuses/"))
        .unwrap();
    assert_eq!(
        (last.body["pipeline_id"].clone(), last.body["ref"].clone()),
        (31.into(), "feature".into())
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.gitlab.notes().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no verdict note: {:#?}",
            r.gitlab.notes()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Only configured projects may be reported to; the SHA must be whole.
    let res = post(envelope(false, "someone/else", sha)).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(envelope(false, "gitlab-org/gitlab-test", "bcbb5ec3"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("gitlab.sha"));
    assert_eq!(s.store.list_runs(10).unwrap().len(), 1);
    assert!(r.gitlab.problems().is_empty(), "{:?}", r.gitlab.problems());
}

/// An experiment marked `guard.dryRun` injects nothing, whoever starts it: a webhook
/// that matches it starts no run and says why, and so does running it from the catalog.
/// (The API's `POST /api/v1/runs` answers a dry run with its plan: `api::dry_run_*`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_experiment_starts_no_run_from_a_webhook_or_the_catalog() {
    let r = rig().await;
    let s = &r.server;
    let pid = r.target.0.id();
    let res = client()
        .delete(s.url("/api/v1/experiments/mr-pause"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let dry = experiment(
        "mr-dry",
        pid,
        &format!("http://127.0.0.1:{}/", r.web_port),
        "5s",
    )
    .replace("  steps:", "  guard: { dryRun: true }\n  steps:");
    let res = client()
        .post(s.url("/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(dry)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = deliver(
        s,
        "Pipeline Hook",
        Some(SECRET_ORG),
        Some("uuid-dry-1"),
        serde_json::to_vec(&fixture("pipeline")).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    let refused = &body["refused"][0];
    assert_eq!(refused["experiment"], "mr-dry", "{body:#}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("dry run (guard.dryRun: true)"),
        "{body:#}"
    );

    let res = client()
        .post(s.url("/api/v1/experiments/mr-dry/runs"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("injects nothing"));

    // Nothing was injected: the target never stopped, and no run exists.
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_millis(1500) {
        assert_ne!(
            proc_state(pid),
            'T',
            "a dry-run experiment paused its target"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let runs: Value = viewer_json(s.url("/api/v1/runs")).await;
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0), "{runs:#}");
    let audit = admin_json(s.url("/api/v1/audit?action=run.start&outcome=refused")).await;
    assert_eq!(
        audit["records"].as_array().map(Vec::len),
        Some(2),
        "{audit:#}"
    );
}
