//! The run engine end to end with the in-process agent and real processes: a Python
//! HTTP server on loopback is the system under test, `processPause` the fault. Each test
//! proves the fault was removed (the paused process runs again) and kills what it started.

use std::process::Command;
use std::time::{Duration, Instant};

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::{RunEvent, RunState};
use faultline_spec::load_str;

use faultline_test_support::{Proc, closed_port, empty_http_server, proc_state};

use super::fixture::{Fixture, fixture};

fn experiment(yaml: &str) -> faultline_spec::Experiment {
    load_str(yaml, "test.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0)
}

fn runner(f: &Fixture, run: &str, yaml: &str) -> Runner {
    let exp = experiment(yaml);
    f.store.create_run(run, &exp.metadata.name, "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(10),
        prometheus: None,
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

fn states(f: &Fixture, run: &str) -> Vec<RunState> {
    f.store
        .events(run)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::StateChanged { to, .. } => Some(to),
            _ => None,
        })
        .collect()
}

fn pause_yaml(pid: u32, port: u16, extra_check: &str, duration: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: pause-test }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 100ms, timeout: 1s }}
      expect: ">= 0.99"
{extra_check}
  steps:
    - name: pause
      processPause: {{}}
      duration: {duration}
"#
    )
}

#[tokio::test]
async fn a_fault_the_system_tolerates_passes_and_is_removed() {
    let f = fixture().await;
    let (web, port) = empty_http_server();
    let sleeper = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let pid = sleeper.0.id();
    let r = runner(&f, "pass1", &pause_yaml(pid, port, "", "1s"));
    let watch = tokio::spawn(async move {
        // The fault is really applied: the process is stopped during the step.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if proc_state(pid) == 'T' {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    });
    let verdict = r.execute().await;
    assert!(watch.await.unwrap(), "the process was never stopped");
    assert_eq!(
        verdict,
        RunState::Passed,
        "{:?}",
        f.store.run("pass1").unwrap()
    );
    assert_ne!(proc_state(pid), 'T', "the pause outlived its run");
    use RunState::*;
    assert_eq!(
        states(&f, "pass1"),
        vec![
            CheckingBefore,
            Injecting,
            Observing,
            Recovering,
            CheckingAfter,
            Passed
        ]
    );
    let events = f.store.events("pass1").unwrap();
    assert!(events.iter().any(
        |e| matches!(&e.event, RunEvent::FaultRecovered { outcome, .. } if outcome == "removed")
    ));
    assert!(events.iter().any(|e| matches!(&e.event, RunEvent::CheckEvaluated { phase, ok: true, .. } if phase == "during")));
    assert!(f.agent.list().await.unwrap().is_empty());
    drop(web);
}

#[tokio::test]
async fn not_steady_before_means_nothing_is_injected() {
    let f = fixture().await;
    let sleeper = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let (_closed, closed) = closed_port();
    let r = runner(
        &f,
        "unsteady",
        &pause_yaml(sleeper.0.id(), closed, "", "1s"),
    );
    assert_eq!(r.execute().await, RunState::Failed);
    let run = f.store.run("unsteady").unwrap();
    assert!(
        run.reason.contains("not steady, nothing injected"),
        "{}",
        run.reason
    );
    assert!(run.reason.contains("availability"), "{}", run.reason);
    let events = f.store.events("unsteady").unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, RunEvent::FaultApplied { .. }))
    );
    assert_eq!(
        states(&f, "unsteady"),
        vec![RunState::CheckingBefore, RunState::Failed]
    );
}

#[tokio::test]
async fn breaching_an_abort_bound_recovers_at_once_and_ends_aborted() {
    let f = fixture().await;
    let (web, port) = empty_http_server();
    let pid = web.pid();
    // Pausing the web server itself takes the service down: availability falls below the
    // bound within a few samples, long before the 60 s step would end.
    let yaml = pause_yaml(
        pid,
        port,
        "      abortBelow: 0.5\n      recoveryWithin: 5s",
        "60s",
    );
    let r = runner(&f, "abort1", &yaml);
    let started = Instant::now();
    let verdict = r.execute().await;
    let took = started.elapsed();
    assert_eq!(
        verdict,
        RunState::Aborted,
        "{:?}",
        f.store.run("abort1").unwrap()
    );
    assert!(
        took < Duration::from_secs(50),
        "the abort did not cut the 60 s step short ({took:?})"
    );
    let run = f.store.run("abort1").unwrap();
    assert!(
        run.reason.contains("abort bound breached") && run.reason.contains("availability"),
        "{}",
        run.reason
    );
    assert_ne!(proc_state(pid), 'T', "the paused server was not resumed");
    let states = states(&f, "abort1");
    assert_eq!(states.last(), Some(&RunState::Aborted));
    assert!(states.contains(&RunState::Recovering), "{states:?}");
    assert!(f.agent.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_operator_abort_recovers_and_says_why() {
    let f = fixture().await;
    let (web, port) = empty_http_server();
    let sleeper = Proc(Command::new("sleep").arg("60").spawn().unwrap());
    let pid = sleeper.0.id();
    let r = runner(&f, "abort2", &pause_yaml(pid, port, "", "60s"));
    let handle = r.abort_handle();
    tokio::spawn(async move {
        while proc_state(pid) != 'T' {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        handle.abort("operator pressed stop");
    });
    assert_eq!(r.execute().await, RunState::Aborted);
    let reason = f.store.run("abort2").unwrap().reason;
    assert!(reason.starts_with("operator pressed stop"), "{reason}");
    assert!(
        reason.contains("the steady state came back after recovery"),
        "{reason}"
    );
    let states = states(&f, "abort2");
    assert!(
        states.ends_with(&[
            RunState::Recovering,
            RunState::CheckingAfter,
            RunState::Aborted
        ]),
        "{states:?}"
    );
    assert_ne!(proc_state(pid), 'T');
    drop(web);
}

#[tokio::test]
async fn a_fault_that_cannot_be_applied_ends_the_run_in_error_naming_the_target() {
    let f = fixture().await;
    let (web, port) = empty_http_server();
    let gone = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let r = runner(&f, "err1", &pause_yaml(gone, port, "", "1s"));
    assert_eq!(r.execute().await, RunState::Error);
    let run = f.store.run("err1").unwrap();
    assert!(run.reason.contains(&gone.to_string()), "{}", run.reason);
    assert!(run.reason.contains("step pause"), "{}", run.reason);
    drop(web);
}

fn bandwidth_to_hosts_yaml(netns: &str, hosts: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: hosts-test }}
spec:
  target: {{ local: {{ netns: {netns} }} }}
  steps:
    - name: slow-to-host
      networkBandwidth: {{ rate: 1mbit, limit: 64KB, buffer: 16KB, hosts: [{hosts}] }}
      duration: 1s
"#
    )
}

/// `hosts` (Chaos Mesh `externalTargets` names) are resolved when the step is injected:
/// `localhost` becomes 127.0.0.1, recorded on the run, and the agent's u32 filters match
/// that address (read back with `tc` while the step holds); after the run nothing is left.
#[tokio::test]
async fn host_names_are_resolved_at_injection_recorded_and_shaped() {
    let f = fixture().await;
    let pair = faultline_test_support::NetnsPair::new("hosts");
    let before = pair.tc_show_a();
    let r = runner(&f, "hosts1", &bandwidth_to_hosts_yaml(&pair.a, "localhost"));
    let ns = pair.a.clone();
    let watch = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let filters = faultline_test_support::sh(&format!("tc -n {ns} filter show dev va"));
            // u32 prints `match 7f000001/ffffffff at 16` for dst 127.0.0.1/32.
            if filters.contains("7f000001/ffffffff") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    });
    let verdict = r.execute().await;
    let shaped = watch.await.unwrap();
    let after = pair.tc_show_a();
    assert_eq!(
        verdict,
        RunState::Passed,
        "{:?}",
        f.store.run("hosts1").unwrap()
    );
    assert!(shaped, "no filter for 127.0.0.1 while the step held");
    assert_eq!(after, before, "the fault outlived its run");
    let notes: Vec<String> = f
        .store
        .events("hosts1")
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::Note { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("hosts resolved: `localhost` -> ") && n.contains("127.0.0.1")),
        "{notes:?}"
    );
    assert!(f.agent.list().await.unwrap().is_empty());
}

/// A host name with a port (Chaos Mesh `externalTargets: ["localhost:5432"]`) resolves
/// into `peerPorts`: the agent's one u32 filter matches 127.0.0.1 and that port together
/// (read back with `tc` while the step holds), the note names the port, and after the run
/// nothing is left.
#[tokio::test]
async fn host_names_with_a_port_resolve_into_peer_ports() {
    let f = fixture().await;
    let pair = faultline_test_support::NetnsPair::new("hostport");
    let before = pair.tc_show_a();
    let r = runner(
        &f,
        "hostport1",
        &bandwidth_to_hosts_yaml(&pair.a, "'localhost:5432'"),
    );
    let ns = pair.a.clone();
    let watch = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let filters = faultline_test_support::sh(&format!("tc -n {ns} filter show dev va"));
            // dst 127.0.0.1/32 and dport 5432 (0x1538) in one filter.
            if filters.contains("7f000001/ffffffff at 16") {
                return Some(filters);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    });
    let verdict = r.execute().await;
    let shaped = watch.await.unwrap();
    let after = pair.tc_show_a();
    assert_eq!(
        verdict,
        RunState::Passed,
        "{:?}",
        f.store.run("hostport1").unwrap()
    );
    let filters = shaped.expect("no filter for 127.0.0.1 while the step held");
    let v4 = filters
        .split("filter ")
        .find(|f| f.contains("7f000001/ffffffff at 16"))
        .unwrap();
    assert!(v4.contains("match 00001538/0000ffff at 20"), "{filters}");
    // No filter for 127.0.0.1 on every port: the port narrows that peer.
    assert_eq!(filters.matches("7f000001/ffffffff").count(), 1, "{filters}");
    assert_eq!(after, before, "the fault outlived its run");
    let notes: Vec<String> = f
        .store
        .events("hostport1")
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::Note { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("hosts resolved: `localhost:5432` -> ") && n.contains("127.0.0.1")),
        "{notes:?}"
    );
    assert!(f.agent.list().await.unwrap().is_empty());
}

/// While faults are active a check is measured on its schedule, not one answer at a
/// time: with the server itself paused for 1s, the requests sent every 50 ms during the
/// pause each wait for it and each is a sample. A probe that waited for every answer
/// before sending the next would have one slow sample to show for the whole pause.
#[tokio::test]
async fn a_paused_service_is_sampled_on_schedule_not_once_per_slow_answer() {
    let f = fixture().await;
    let (web, port) = empty_http_server();
    let yaml = format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: schedule-test }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: latency
      http: {{ url: "http://127.0.0.1:{port}/", every: 50ms, timeout: 5s }}
      expect: "p99 < 5s"
      phases: [before, during]
      compare: {{ maxIncrease: 100%, p: 0.05, samples: 10 }}
  steps:
    - name: pause
      processPause: {{}}
      duration: 1s
"#,
        pid = web.pid()
    );
    let verdict = runner(&f, "schedule1", &yaml).execute().await;
    assert_ne!(proc_state(web.pid()), 'T', "the pause outlived its run");
    assert!(f.agent.list().await.unwrap().is_empty());
    let comparison = f
        .store
        .events("schedule1")
        .unwrap()
        .into_iter()
        .find_map(|e| match e.event {
            RunEvent::CheckCompared { comparison, .. } => Some(*comparison),
            _ => None,
        })
        .expect("the check was compared");
    let waited = comparison
        .during
        .values
        .iter()
        .filter(|v| **v >= 0.3)
        .count();
    assert!(
        comparison.during.count >= 15 && waited >= 8,
        "{} samples during, {waited} of them waited >= 300 ms: {:?}",
        comparison.during.count,
        comparison.during.values
    );
    assert_eq!(verdict, RunState::Failed, "{}", comparison.reason);
}
