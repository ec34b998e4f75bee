//! Schedules: a catalog experiment with `spec.schedule` is started at its times by the
//! replica that leads, not by one that does not, and not while the emergency stop is on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use faultline_test_support::{client, proc_state, sleeper};
use reqwest::StatusCode;
use serde_json::Value;

fn runs_of(s: &TestServer, name: &str) -> usize {
    s.store
        .list_runs(1000)
        .unwrap()
        .iter()
        .filter(|r| r.experiment == name)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_fires_schedules_and_the_emergency_stop_holds_them() {
    let leading = Arc::new(AtomicBool::new(false));
    let handle: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>> = Arc::default();
    let (l, h) = (leading.clone(), handle.clone());
    let s = TestServer::start_fresh_with(
        |_, _| {},
        move |svc| {
            *h.lock().unwrap() = Some(faultline::application::schedule::spawn(
                svc.state.store.clone(),
                svc.live().clone(),
                Arc::new(move || l.load(Ordering::SeqCst)),
            ));
        },
    )
    .await;
    let target = sleeper();
    // Every two seconds (the 6-field form has seconds).
    let yaml = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: every-2s }}\nspec:\n  schedule: \"*/2 * * * * *\"\n  target: {{ local: {{ pid: {} }} }}\n  steps:\n    - processPause: {{}}\n      duration: 200ms\n",
        target.0.id()
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
    let list: Value = viewer_json(s.url("/api/v1/schedules")).await;
    assert_eq!(list["schedules"][0]["experiment"], "every-2s");
    assert_eq!(list["schedules"][0]["cron"], "*/2 * * * * *");
    let next = chrono::DateTime::parse_from_rfc3339(list["schedules"][0]["next"].as_str().unwrap())
        .unwrap();
    assert!(next.with_timezone(&chrono::Utc) - chrono::Utc::now() <= chrono::Duration::seconds(2));

    // Not the leader: nothing fires.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(runs_of(&s, "every-2s"), 0);
    // The leader fires it.
    leading.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while runs_of(&s, "every-2s") < 2 {
        assert!(Instant::now() < deadline, "the schedule never fired twice");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The emergency stop holds it.
    let res = client()
        .post(s.url("/api/v1/emergency-stop"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let before = runs_of(&s, "every-2s");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        runs_of(&s, "every-2s"),
        before,
        "a schedule fired through the emergency stop"
    );
    if let Some(h) = handle.lock().unwrap().take() {
        h.abort();
    }
    // Whatever ran was recovered.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .store
        .list_runs(100)
        .unwrap()
        .iter()
        .any(|r| !r.state.is_terminal())
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(proc_state(target.0.id()), 'T');
}

/// A zoned schedule lists its zone and the next time both in UTC and in the zone (the
/// same instant); a misspelt zone is refused with 422 naming the field and line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoned_schedule_shows_its_zone_and_next_time_in_utc_and_local() {
    let s = TestServer::start().await;
    let doc = |zone: &str| {
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: berlin-nightly }}\nspec:\n  schedule:\n    cron: \"0 3 * * 1-5\"\n    timezone: {zone}\n  target: {{ local: {{ pid: 1 }} }}\n  steps:\n    - processPause: {{}}\n      duration: 1s\n"
        )
    };
    let res = client()
        .post(s.url("/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(doc("Europe/Berln"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("spec.schedule.timezone"), "{body}");
    assert!(
        body.contains("Europe/Berlin"),
        "the suggestion is missing: {body}"
    );

    let res = client()
        .post(s.url("/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(doc("Europe/Berlin"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let list: Value = viewer_json(s.url("/api/v1/schedules")).await;
    let entry = &list["schedules"][0];
    assert_eq!(entry["timezone"], "Europe/Berlin", "{list}");
    let next = chrono::DateTime::parse_from_rfc3339(entry["next"].as_str().unwrap()).unwrap();
    let local = chrono::DateTime::parse_from_rfc3339(entry["nextLocal"].as_str().unwrap()).unwrap();
    assert_eq!(next, local, "two different instants: {entry}");
    assert_eq!(
        next.offset().local_minus_utc(),
        0,
        "`next` is not in UTC: {entry}"
    );
    // 03:00 on a weekday in Berlin, at its offset then (+01:00 or +02:00).
    let off = local.offset().local_minus_utc();
    assert!(off == 3600 || off == 7200, "{entry}");
    assert_eq!(local.format("%H:%M").to_string(), "03:00", "{entry}");
    use chrono::Datelike;
    assert!(local.weekday().number_from_monday() <= 5, "{entry}");
}
