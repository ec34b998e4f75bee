//! Chaos Mesh parity in the engine (issue 24), with the in-process agent and real
//! processes (`processPause` on `sleep`): a fault without duration (`untilAborted`, what a
//! Chaos Mesh chaos without `duration` imports as) holds until the run is aborted or
//! `guard.maxDuration` passes; a group's `deadline` recovers the children still holding a
//! fault and the run goes on. Each test proves the fault took effect, then that it was
//! removed.

use std::time::{Duration, Instant};

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::{RunEvent, RunState};
use faultline_spec::load_str;
use faultline_test_support::{Proc, proc_state};

use super::fixture::{Fixture, fixture};

fn runner(f: &Fixture, run: &str, yaml: &str, opts: RunOptions) -> Runner {
    let exp = load_str(yaml, "test.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    f.store.create_run(run, &exp.metadata.name, "{}").unwrap();
    Runner::new(
        f.store.clone(),
        Injector::InProcess(f.agent.clone()),
        opts,
        run.into(),
        exp,
    )
}

fn opts() -> RunOptions {
    RunOptions {
        lease: Duration::from_secs(10),
        ..RunOptions::default()
    }
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

/// Resolves once `pid` is stopped (the pause took effect), with when that was.
fn stopped(pid: u32) -> tokio::task::JoinHandle<Option<Instant>> {
    tokio::spawn(async move {
        let give_up = Instant::now() + Duration::from_secs(20);
        while Instant::now() < give_up {
            if proc_state(pid) == 'T' {
                return Some(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    })
}

fn until_aborted(pid: u32, guard: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: until-aborted }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
{guard}
  steps:
    - name: pause
      processPause: {{}}
      untilAborted: true
"#
    )
}

#[tokio::test]
async fn a_fault_without_duration_holds_until_the_run_is_aborted() {
    let f = fixture().await;
    let sleeper = Proc::sleep();
    let pid = sleeper.pid();
    // The service's bound is far away: only the abort can end the fault.
    let r = runner(
        &f,
        "ua1",
        &until_aborted(pid, ""),
        RunOptions {
            max_duration: Duration::from_secs(600),
            ..opts()
        },
    );
    let handle = r.abort_handle();
    let seen = stopped(pid);
    let aborter = tokio::spawn(async move {
        while proc_state(pid) != 'T' {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Held: still stopped well after it was applied.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let held = proc_state(pid) == 'T';
        handle.abort("operator pressed stop");
        held
    });
    let verdict = r.execute().await;
    assert!(
        seen.await.unwrap().is_some(),
        "the process was never stopped"
    );
    assert!(
        aborter.await.unwrap(),
        "the fault did not hold until the abort"
    );
    assert_eq!(verdict, RunState::Aborted);
    let reason = f.store.run("ua1").unwrap().reason;
    assert!(reason.starts_with("operator pressed stop"), "{reason}");
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    assert!(f.agent.list().await.unwrap().is_empty());
    let notes = notes(&f, "ua1");
    let warned: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("holds until the run is aborted"))
        .collect();
    assert_eq!(warned.len(), 1, "{notes:#?}");
    assert!(warned[0].contains("at most 10m"), "{}", warned[0]);
}

#[tokio::test]
async fn a_fault_without_duration_is_recovered_at_guard_max_duration() {
    let f = fixture().await;
    let sleeper = Proc::sleep();
    let pid = sleeper.pid();
    let r = runner(
        &f,
        "ua2",
        &until_aborted(pid, "  guard: { maxDuration: 2s }"),
        opts(),
    );
    let seen = stopped(pid);
    let started = Instant::now();
    let verdict = r.execute().await;
    let took = started.elapsed();
    let applied = seen.await.unwrap().expect("the process was never stopped");
    assert!(
        applied.duration_since(started) < Duration::from_secs(5),
        "{:?}",
        applied.duration_since(started)
    );
    // Bounded by guard.maxDuration: it held about 2 s, far less than the default hour.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(20),
        "{took:?}"
    );
    assert_eq!(
        verdict,
        RunState::Passed,
        "{:?}",
        f.store.run("ua2").unwrap()
    );
    assert_ne!(proc_state(pid), 'T', "the pause outlived guard.maxDuration");
    assert!(f.agent.list().await.unwrap().is_empty());
    let events = f.store.events("ua2").unwrap();
    assert!(events.iter().any(
        |e| matches!(&e.event, RunEvent::FaultRecovered { outcome, .. } if outcome == "removed")
    ));
    let notes = notes(&f, "ua2");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("holds until the run is aborted, at most 2s (guard.maxDuration)")),
        "{notes:#?}"
    );
}

fn group_yaml(kind: &str, first: u32, second: u32) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: group-deadline }}
spec:
  steps:
    - deadline: 2s
      {kind}:
        - name: long
          processPause: {{}}
          duration: 60s
          target: {{ local: {{ pid: {first} }} }}
        - name: never
          processPause: {{}}
          duration: 60s
          target: {{ local: {{ pid: {second} }} }}
    - name: after
      processPause: {{}}
      duration: 1s
      target: {{ local: {{ pid: {second} }} }}
"#
    )
}

/// The group's deadline cuts the 60 s child at about 2 s, and the next step still runs.
async fn a_group_deadline_cuts_a_running_child(kind: &str, run: &str) {
    let f = fixture().await;
    let first = Proc::sleep();
    let second = Proc::sleep();
    let (p1, p2) = (first.pid(), second.pid());
    let r = runner(&f, run, &group_yaml(kind, p1, p2), opts());
    let seen1 = stopped(p1);
    let released = tokio::spawn(async move {
        // When the first process runs again after its pause.
        while proc_state(p1) != 'T' {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while proc_state(p1) == 'T' {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Instant::now()
    });
    let seen2 = stopped(p2);
    let started = Instant::now();
    let verdict = r.execute().await;
    let took = started.elapsed();
    assert!(
        seen1.await.unwrap().is_some(),
        "the child was never applied"
    );
    let released = released.await.unwrap().duration_since(started);
    assert!(
        released >= Duration::from_millis(1500) && released < Duration::from_secs(15),
        "the child was recovered after {released:?}, not at the group's 2 s deadline"
    );
    assert!(
        seen2.await.unwrap().is_some(),
        "the step after the group never ran"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert_eq!(verdict, RunState::Passed, "{:?}", f.store.run(run).unwrap());
    assert_ne!(proc_state(p1), 'T');
    assert_ne!(proc_state(p2), 'T');
    assert!(f.agent.list().await.unwrap().is_empty());
    let events = f.store.events(run).unwrap();
    let applied: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            RunEvent::FaultApplied { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert!(applied.iter().any(|s| s.ends_with("after")), "{applied:?}");
    if kind == "serial" {
        // The child after the cut one never started.
        assert!(!applied.iter().any(|s| s.ends_with("never")), "{applied:?}");
    }
    let notes = notes(&f, run);
    assert!(
        notes.iter().any(|n| n.contains("its deadline (2s) passed")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn a_serial_deadline_cuts_a_running_child_and_the_run_goes_on() {
    a_group_deadline_cuts_a_running_child("serial", "gd1").await;
}

#[tokio::test]
async fn a_parallel_deadline_cuts_running_children_and_the_run_goes_on() {
    a_group_deadline_cuts_a_running_child("parallel", "gd2").await;
}
