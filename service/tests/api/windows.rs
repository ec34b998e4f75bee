//! Change windows through the real HTTP server, on a clock the test sets: a trigger
//! inside is started, outside or in a freeze it is refused with 409 and the next allowed
//! time (across a daylight-saving change), nothing is created; a run still going when
//! its window closes is aborted, its fault recovered, and the abort audited.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use faultline::api::Service;
use faultline::application::governance::Clock;
use faultline::config::Governance;
use faultline_test_support::{client, empty_http_server, proc_state, sleeper, wait_stopped};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// A clock that read `start` when the test began and runs at the real pace since.
struct TestClock {
    start: DateTime<Utc>,
    began: Instant,
}

impl TestClock {
    fn at(rfc3339: &str) -> Arc<TestClock> {
        Arc::new(TestClock {
            start: DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc(),
            began: Instant::now(),
        })
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.began.elapsed()).unwrap()
    }
}

const WINDOWS: &str = r#"
windows:
  - name: business-hours
    experiments: ["win-*"]
    allow: ["Mon-Fri 09:00-16:00 Europe/Berlin"]
    freeze: ["2026-12-20..2027-01-03"]
"#;

/// Installs [`WINDOWS`] on a service, on a clock that reads `now` when the test begins.
fn windows_at(now: &str) -> impl FnOnce(&Service) + use<> {
    let windows = Governance::parse(WINDOWS, "serve.yaml", std::path::Path::new("/"))
        .unwrap()
        .windows;
    let clock = TestClock::at(now);
    move |service| service.live().set_windows(windows, clock)
}

async fn server_at(now: &str) -> TestServer {
    TestServer::start_fresh_with(|_, _| {}, windows_at(now)).await
}

async fn post(s: &TestServer, yaml: &str) -> reqwest::Response {
    client()
        .post(s.url("/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .header("content-type", "application/yaml")
        .body(yaml.to_string())
        .send()
        .await
        .unwrap()
}

async fn refusal(s: &TestServer, yaml: &str) -> String {
    let r = post(s, yaml).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    body["error"].as_str().unwrap().to_string()
}

async fn run_count(s: &TestServer) -> usize {
    viewer_json(s.url("/api/v1/runs")).await["runs"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_its_window_a_trigger_is_refused_with_the_next_allowed_time() {
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    // Saturday 2026-03-28, 13:00 in Berlin (CET); the clocks go forward that night.
    let s = server_at("2026-03-28T12:00:00Z").await;
    let e = refusal(&s, &pause_yaml("win-checkout", pid, port, "1s")).await;
    assert_eq!(
        e,
        "outside change window `business-hours` (allowed Mon-Fri 09:00-16:00 Europe/Berlin); next allowed 2026-03-30T09:00:00+02:00"
    );
    assert_eq!(run_count(&s).await, 0, "a refused trigger created a run");
    // An experiment no window governs starts.
    let r = post(&s, &pause_yaml("other", pid, port, "1s")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait_verdict(&s.base, &id).await["verdict"], "passed");
    // Starting by name from the catalog is refused the same way.
    let r = client()
        .post(s.url("/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("win-stored", pid, port, "1s"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = client()
        .post(s.url("/api/v1/experiments/win-stored/runs"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Both refusals are audited with the reason.
    let refused = admin_json(s.url("/api/v1/audit?action=run.start&outcome=refused")).await;
    let refused = refused["records"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert!(
        refused[1]["reason"]
            .as_str()
            .unwrap()
            .contains("next allowed 2026-03-30T09:00:00+02:00")
    );

    // Saturday 2026-10-24 (CEST); back to CET on Sunday: Monday 09:00 is +01:00.
    let s = server_at("2026-10-24T12:00:00Z").await;
    let e = refusal(&s, &pause_yaml("win-checkout", pid, port, "1s")).await;
    assert!(e.ends_with("next allowed 2026-10-26T09:00:00+01:00"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_freeze_the_weekday_hours_do_not_count() {
    let (_web, port) = empty_http_server();
    let target = sleeper();
    // Monday 2026-12-21, 10:00 in Berlin: inside the hours, inside the freeze.
    let s = server_at("2026-12-21T09:00:00Z").await;
    let e = refusal(&s, &pause_yaml("win-checkout", target.0.id(), port, "1s")).await;
    assert_eq!(
        e,
        "outside change window `business-hours` (frozen 2026-12-20..2027-01-03 Europe/Berlin); next allowed 2027-01-04T09:00:00+01:00"
    );
    // Inside the hours of an ordinary Monday the same trigger starts.
    let s = server_at("2026-12-07T09:00:00Z").await;
    let r = post(&s, &pause_yaml("win-checkout", target.0.id(), port, "1s")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait_verdict(&s.base, &id).await["verdict"], "passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_still_going_when_its_window_closes_is_aborted_and_recovered() {
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    // Monday 2026-12-07, 15:59:57 in Berlin: three seconds of the window left.
    let s = server_at("2026-12-07T14:59:57Z").await;
    let r = post(&s, &pause_yaml("win-long", pid, port, "60s")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await, "the pause never took effect");
    let run = wait_verdict(&s.base, &id).await;
    assert_eq!(run["verdict"], "aborted", "{run}");
    let why = "change window `business-hours` closed at 2026-12-07T15:00:00+00:00";
    let reason = run["reason"].as_str().unwrap();
    // Recovered like any abort: the after-check's word follows the abort's reason.
    assert!(reason.starts_with(why), "{reason}");
    assert!(
        run["durationSeconds"].as_f64().unwrap() < 30.0,
        "not stopped at the window's end: {run}"
    );
    assert_ne!(proc_state(pid), 'T', "the pause outlived its window");
    let recovered = run["faults"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["outcome"] == "removed");
    assert!(recovered, "{run}");
    let aborts = admin_json(s.url(&format!("/api/v1/audit?action=run.abort&object={id}"))).await;
    let a = &aborts["records"][0];
    assert_eq!(
        a["actor"],
        serde_json::json!({"kind": "system", "name": "change-window"})
    );
    assert_eq!(a["reason"], why);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_firing_outside_its_window_is_refused_and_audited() {
    // Saturday: the schedule fires every second, the window never allows it.
    let set_windows = windows_at("2026-03-28T12:00:00Z");
    let scheduler: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>> = Arc::default();
    let sched = scheduler.clone();
    let s = TestServer::start_fresh_with(
        |_, _| {},
        move |service| {
            set_windows(service);
            *sched.lock().unwrap() = Some(faultline::application::schedule::spawn(
                service.state.store.clone(),
                service.live().clone(),
                Arc::new(|| true),
            ));
        },
    )
    .await;
    let target = sleeper();
    let yaml = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: win-nightly }}\nspec:\n  schedule: \"* * * * * *\"\n  target: {{ local: {{ pid: {} }} }}\n  steps:\n    - processPause: {{}}\n      duration: 200ms\n",
        target.0.id()
    );
    let r = client()
        .post(s.url("/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let starts = || {
        s.store
            .find_audit(&faultline::application::ports::AuditQuery {
                action: Some(faultline::domain::AuditAction::RunStart),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
    };
    faultline_test_support::wait_until_async(std::time::Duration::from_secs(10), || {
        !starts().is_empty()
    })
    .await
    .expect("the schedule never fired");
    let refused = starts();
    let r = &refused[0];
    assert_eq!(r.actor, faultline::domain::Actor::schedule("win-nightly"));
    assert_eq!(r.outcome, faultline::domain::AuditOutcome::Refused);
    assert!(
        r.reason.contains("next allowed 2026-03-30T09:00:00+02:00"),
        "{}",
        r.reason
    );
    assert_eq!(
        run_count(&s).await,
        0,
        "the schedule started a run outside its window"
    );
    assert_ne!(proc_state(target.0.id()), 'T');
    if let Some(h) = scheduler.lock().unwrap().take() {
        h.abort();
    }
}
