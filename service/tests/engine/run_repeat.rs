//! `repeat:` in the engine with the in-process agent and a real process (`processPause`
//! on `sleep`): the child is applied at each time of an `@every 1s` schedule until the
//! bound, each application is seen taking effect (the process stopped) and every one is
//! recovered; Forbid never overlaps two instances, Allow does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::{RunEvent, RunState};
use faultline_spec::load_str;
use faultline_test_support::{Proc, proc_state};

use super::fixture::{Fixture, fixture};

fn runner(f: &Fixture, run: &str, yaml: &str) -> Runner {
    let exp = load_str(yaml, "test.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    f.store.create_run(run, &exp.metadata.name, "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(10),
        max_duration: Duration::from_secs(600),
        ..RunOptions::default()
    };
    Runner::new(
        f.store.clone(),
        Injector::InProcess(f.agent.clone()),
        opts,
        run.into(),
        exp,
    )
}

fn repeat(pid: u32, policy: &str, hold: &str, bound: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: repeat-pause }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
{bound}
  steps:
    - repeat:
        schedule: "@every 1s"
        concurrencyPolicy: {policy}
        step:
          name: pause
          processPause: {{}}
          duration: {hold}
"#
    )
}

/// Each fault id applied, with when it was applied and when recovered.
fn windows(f: &Fixture, run: &str) -> Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> {
    let events = f.store.events(run).unwrap();
    let mut out: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    for e in events {
        match e.event {
            RunEvent::FaultApplied { fault, step, .. } => {
                assert!(step.contains("repeat#1["), "{step}");
                out.push((fault, e.at, None));
            }
            RunEvent::FaultRecovered { fault, .. } => {
                if let Some(w) = out.iter_mut().find(|w| w.0 == fault) {
                    w.2 = Some(e.at);
                }
            }
            _ => {}
        }
    }
    out
}

fn notes(f: &Fixture, run: &str) -> Vec<String> {
    f.store
        .events(run)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::Note { message } => Some(message),
            _ => None,
        })
        .collect()
}

/// Counts how many times `pid` goes from running to stopped until `done` is set.
fn count_stops(pid: u32, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<u32> {
    tokio::spawn(async move {
        let (mut stops, mut was) = (0, false);
        while !done.load(Ordering::SeqCst) {
            let now = proc_state(pid) == 'T';
            if now && !was {
                stops += 1;
            }
            was = now;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stops
    })
}

#[tokio::test]
async fn forbid_applies_at_each_free_time_until_the_bound_and_never_overlaps() {
    let f = fixture().await;
    let sleeper = Proc::sleep();
    let pid = sleeper.pid();
    // No deadline: guard.maxDuration bounds the repeat. Each instance holds 1.5s, so the
    // time after each start comes while it still holds and is skipped.
    let r = runner(
        &f,
        "rf",
        &repeat(pid, "Forbid", "1500ms", "  guard: { maxDuration: 5s }"),
    );
    let done = Arc::new(AtomicBool::new(false));
    let stops = count_stops(pid, done.clone());
    let started = Instant::now();
    let verdict = r.execute().await;
    let took = started.elapsed();
    done.store(true, Ordering::SeqCst);
    assert_eq!(verdict, RunState::Passed, "{:#?}", notes(&f, "rf"));
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(8),
        "the repeat did not end at its 5s bound: {took:?}"
    );
    let w = windows(&f, "rf");
    assert!((2..=3).contains(&w.len()), "applications: {w:#?}");
    // Every application took effect (one stop each) and was recovered.
    assert_eq!(stops.await.unwrap() as usize, w.len(), "{w:#?}");
    for (fault, _, end) in &w {
        assert!(end.is_some(), "{fault} was never recovered");
    }
    for pair in w.windows(2) {
        assert!(pair[1].1 >= pair[0].2.unwrap(), "Forbid overlapped: {w:#?}");
    }
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    assert!(f.agent.list().await.unwrap().is_empty());
    let notes = notes(&f, "rf");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("repeats until the run is aborted, at most 5s")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("skipped") && n.contains("Forbid")),
        "{notes:#?}"
    );
    let summary = notes.iter().find(|n| n.contains("ran ")).unwrap();
    assert!(
        summary.contains(&format!("ran {} instance(s)", w.len())),
        "{summary}"
    );
}

#[tokio::test]
async fn allow_starts_an_instance_beside_one_still_holding_until_the_deadline() {
    let f = fixture().await;
    let sleeper = Proc::sleep();
    let pid = sleeper.pid();
    let yaml = repeat(pid, "Allow", "2500ms", "").replace(
        "          duration: 2500ms\n",
        "          duration: 2500ms\n      deadline: 4s\n",
    );
    let r = runner(&f, "ra", &yaml);
    let done = Arc::new(AtomicBool::new(false));
    let stops = count_stops(pid, done.clone());
    let started = Instant::now();
    let verdict = r.execute().await;
    let took = started.elapsed();
    done.store(true, Ordering::SeqCst);
    assert_eq!(verdict, RunState::Passed, "{:#?}", notes(&f, "ra"));
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(7),
        "the repeat did not end at its 4s deadline: {took:?}"
    );
    let w = windows(&f, "ra");
    assert!((3..=4).contains(&w.len()), "applications: {w:#?}");
    assert!(stops.await.unwrap() >= 1, "the pause never took effect");
    for (fault, _, end) in &w {
        assert!(end.is_some(), "{fault} was never recovered");
    }
    // The second started before the first was recovered; the deadline cut the last ones.
    assert!(w[1].1 < w[0].2.unwrap(), "Allow did not overlap: {w:#?}");
    let last_end = w.iter().filter_map(|x| x.2).max().unwrap();
    assert!(
        last_end - w[0].1 < chrono::Duration::milliseconds(4500),
        "{w:#?}"
    );
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    assert!(f.agent.list().await.unwrap().is_empty());
}
