//! Chaos Mesh `StatusCheck` in the engine: a Workflow imported as it is, its status check
//! asking a loopback server that turns from 200 to 500 mid-run, beside a StressChaos
//! (`stressCpu`) really applied to a `sleep` in a test cgroup (the chaos's pod selector
//! is swapped for the process: pods need a cluster; netem would need `sch_netem`, which
//! this machine's kernel lacks). Each test proves what the check decided, what the
//! verdict says, and that the fault took effect and was removed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::{RunEvent, RunState};
use faultline_agent::cgroup::TestCgroup;
use faultline_spec::{LocalTarget, Step, Target, load_str};
use faultline_test_support::{Proc, listener};

/// A loopback HTTP server answering every request with the current status; keeps the
/// last request's text. Stops accepting when dropped.
struct FlipServer {
    port: u16,
    status: Arc<AtomicU16>,
    last_request: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
}

impl FlipServer {
    fn start() -> FlipServer {
        let l: TcpListener = listener();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(200));
        let last_request = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, last, stopping) = (status.clone(), last_request.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).unwrap_or(0);
                *last.lock().unwrap() = String::from_utf8_lossy(&buf[..n]).into_owned();
                let code = st.load(Ordering::Relaxed);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        FlipServer {
            port,
            status,
            last_request,
            stop,
        }
    }

    /// Answers 500 from `after` on.
    fn fail_after(&self, after: Duration) {
        let status = self.status.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            status.store(500, Ordering::Relaxed);
        });
    }
}

impl Drop for FlipServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A Workflow: Parallel [a Continuous status check, a StressChaos of `fault_for`].
fn gate_workflow(port: u16, abort: bool, fault_for: &str) -> String {
    format!(
        r#"apiVersion: chaos-mesh.org/v1alpha1
kind: Workflow
metadata: {{ name: cart-gate }}
spec:
  entry: together
  templates:
    - name: together
      templateType: Parallel
      deadline: 40s
      children: [cart-health, cart-latency]
    - name: cart-health
      templateType: StatusCheck
      deadline: 30s
      abortWithStatusCheck: {abort}
      statusCheck:
        mode: Continuous
        type: HTTP
        intervalSeconds: 1
        failureThreshold: 2
        http:
          url: http://127.0.0.1:{port}/health
          criteria: {{ statusCode: "200-204" }}
    - name: cart-latency
      templateType: StressChaos
      deadline: {fault_for}
      stressChaos:
        mode: all
        selector: {{ labelSelectors: {{ app: cart }} }}
        stressors: {{ cpu: {{ workers: 1, load: 100 }} }}
"#
    )
}

/// Aims every fault step at process `pid` instead of pods.
fn retarget(steps: &mut [Step], pid: u32) {
    for s in steps {
        match s {
            Step::Fault(f) => f.target = Some(Target::Local(LocalTarget::Pid(pid))),
            Step::Parallel(g) | Step::Serial(g) => retarget(&mut g.steps, pid),
            Step::Repeat(r) => retarget(std::slice::from_mut(&mut *r.step), pid),
            Step::Task(t) => t
                .task
                .branches
                .iter_mut()
                .for_each(|b| retarget(&mut b.then, pid)),
            Step::Suspend(_) | Step::Check(_) => {}
        }
    }
}

use super::fixture::{Fixture, fixture};

fn runner(f: &Fixture, run: &str, yaml: &str, pid: Option<u32>) -> Runner {
    let mut exp = load_str(yaml, "test.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    if let Some(pid) = pid {
        retarget(&mut exp.spec.steps, pid);
    }
    f.store.create_run(run, &exp.metadata.name, "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(10),
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

/// The run's status-check decisions: (passed, decision).
fn decisions(f: &Fixture, run: &str) -> Vec<(bool, String)> {
    f.store
        .events(run)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::StatusCheckDecided {
                passed, decision, ..
            } => Some((passed, decision)),
            _ => None,
        })
        .collect()
}

/// A `sleep` in a cgroup of its own (v1 cpu, cpuacct): the stress's target.
struct Target0 {
    cg: TestCgroup,
    sleep: Proc,
}

impl Target0 {
    fn new(tag: &str) -> Target0 {
        faultline_agent::faults::stress::set_worker_exe(env!("CARGO_BIN_EXE_faultline"));
        let cg = TestCgroup::create(
            &format!("fltest-{}-{tag}", std::process::id()),
            &["cpu", "cpuacct"],
            false,
        )
        .expect("create a test cgroup (needs root and the v1 cpu hierarchy)");
        let sleep = Proc::sleep();
        cg.add(sleep.pid()).unwrap();
        Target0 { cg, sleep }
    }

    /// Whether a stress worker has joined the sleep in its cgroup.
    fn stressed(&self) -> bool {
        self.cg.members().len() > 1
    }
}

/// Resolves true once the stress took effect.
async fn watch_stress(t: Arc<Target0>) -> bool {
    let give_up = Instant::now() + Duration::from_secs(20);
    while Instant::now() < give_up {
        if t.stressed() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_failed_check_with_abort_stops_the_run_recovers_the_fault_and_fails_the_verdict() {
    let f = fixture().await;
    let server = FlipServer::start();
    let target = Arc::new(Target0::new("scabort"));
    let run_id = "sc-abort";
    let run = runner(
        &f,
        run_id,
        &gate_workflow(server.port, true, "15s"),
        Some(target.sleep.pid()),
    );
    server.fail_after(Duration::from_millis(2500));
    let applied = tokio::spawn(watch_stress(target.clone()));
    let started = Instant::now();
    let verdict = run.execute().await;
    let took = started.elapsed();
    assert!(
        applied.await.unwrap(),
        "the stress was never applied: {:?}",
        f.store.events(run_id).unwrap()
    );
    assert_eq!(
        target.cg.members(),
        [target.sleep.pid()],
        "the stress outlived the aborted run"
    );
    let row = f.store.run("sc-abort").unwrap();
    assert_eq!(verdict, RunState::Failed, "{row:?}");
    assert!(
        row.reason.contains("status check `cart-health` failed after 2 consecutive failures (status 500, expected 200-204)"),
        "{}",
        row.reason
    );
    assert!(
        took < Duration::from_secs(12),
        "aborted at once, not at the fault's 15s: {took:?}"
    );
    let d = decisions(&f, "sc-abort");
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        !d[0].0 && d[0].1.contains("abortRun: the run is aborted"),
        "{d:?}"
    );
    let events = f.store.events("sc-abort").unwrap();
    assert!(events.iter().any(
        |e| matches!(&e.event, RunEvent::FaultRecovered { outcome, .. } if outcome == "removed")
    ));
    assert!(f.agent.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_check_without_abort_lets_the_run_finish_but_fails_the_verdict() {
    let f = fixture().await;
    let server = FlipServer::start();
    let target = Arc::new(Target0::new("scgoon"));
    let run_id = "sc-goon";
    let run = runner(
        &f,
        run_id,
        &gate_workflow(server.port, false, "6s"),
        Some(target.sleep.pid()),
    );
    server.fail_after(Duration::from_millis(1500));
    let applied = tokio::spawn(watch_stress(target.clone()));
    let started = Instant::now();
    let verdict = run.execute().await;
    assert!(
        applied.await.unwrap(),
        "the stress was never applied: {:?}",
        f.store.events(run_id).unwrap()
    );
    assert_eq!(
        target.cg.members(),
        [target.sleep.pid()],
        "the stress outlived its step"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "the fault held its whole 6s: the run went on"
    );
    let row = f.store.run("sc-goon").unwrap();
    assert_eq!(verdict, RunState::Failed, "{row:?}");
    assert!(
        row.reason
            .contains("status check `cart-health` failed after 2 consecutive failures"),
        "{}",
        row.reason
    );
    let d = decisions(&f, "sc-goon");
    assert!(
        !d[0].0 && d[0].1.ends_with("the run goes on, and its verdict fails"),
        "{d:?}"
    );
    // It ended normally: checked after, not aborted.
    let states: Vec<RunState> = f
        .store
        .events("sc-goon")
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::StateChanged { to, .. } => Some(to),
            _ => None,
        })
        .collect();
    assert!(states.contains(&RunState::CheckingAfter), "{states:?}");
    assert!(f.agent.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_synchronous_check_ends_its_step_once_it_has_enough_successes() {
    let f = fixture().await;
    let server = FlipServer::start();
    let yaml = format!(
        r#"apiVersion: chaos-mesh.org/v1alpha1
kind: Workflow
metadata: {{ name: cart-ready }}
spec:
  entry: ready
  templates:
    - name: ready
      templateType: StatusCheck
      deadline: 30s
      abortWithStatusCheck: true
      statusCheck:
        mode: Synchronous
        type: HTTP
        intervalSeconds: 1
        successThreshold: 2
        http:
          url: http://127.0.0.1:{}/ready
          method: POST
          headers: {{ X-Gate: [cart] }}
          body: '{{"probe":true}}'
          criteria: {{ statusCode: "200" }}
"#,
        server.port
    );
    let run = runner(&f, "sc-sync", &yaml, None);
    let started = Instant::now();
    let verdict = run.execute().await;
    let took = started.elapsed();
    assert_eq!(
        verdict,
        RunState::Passed,
        "{:?}",
        f.store.run("sc-sync").unwrap()
    );
    assert!(
        took < Duration::from_secs(5),
        "ended after 2 successes, not at 30s: {took:?}"
    );
    assert_eq!(
        decisions(&f, "sc-sync"),
        vec![(true, "passed after 2 consecutive successes".to_string())]
    );
    let req = server.last_request.lock().unwrap().to_ascii_lowercase();
    assert!(req.starts_with("post /ready"), "{req}");
    assert!(
        req.contains("x-gate: cart") && req.contains(r#"{"probe":true}"#),
        "{req}"
    );
    let answers = f
        .store
        .events("sc-sync")
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.event, RunEvent::CheckEvaluated { phase, ok: true, .. } if phase == "step"))
        .count();
    assert_eq!(answers, 2);
}
