//! The statistical verdict end to end: a Python HTTP server on loopback is the system
//! under test, inside its own cgroup with a CPU quota; `stressCpu` with one full-load
//! worker is the fault. Aimed at the server's cgroup, the worker competes for the quota
//! and the server's latency rises: the comparison fails the run with p < 0.05. Aimed at a
//! sleeper in another capped cgroup, the same fault leaves the latency alone: passed.
//! The limit, `maxIncrease: 100%`, leaves room for the noise of a shared machine (medians
//! of a few ms moved by up to ~60% between windows with no fault); the stress, on the
//! server's CPU, moves it by about +5,000%. Both prove the workers are gone afterwards; the cgroups (and their members) are
//! removed on drop even when an assertion fails.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::application::report::Report;
use faultline::domain::Comparison;
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_agent::cgroup::TestCgroup;
use faultline_spec::load_str;
use faultline_test_support::{empty_http_server, sleeper};

/// CPU quota of each test cgroup: 20 ms per 100 ms period, a fifth of one core. Far more
/// than the server needs to answer a probe every 50 ms, far less than a busy worker takes,
/// and independent of how busy the (shared) machine is.
const QUOTA_US: u32 = 20_000;

/// Samples per window. Under the quota a stressed server answers some probes at once
/// (those that arrive while the period's quota lasts) and the rest ~40 ms later, so the
/// shift is in well over half the samples, not all: with 15 before-samples the test's
/// power was too low: about one run in three missed p < 0.05 on a slowed server.
const SAMPLES: usize = 30;

/// One experiment at a time: on two shared cores, one test's stress would be the other's
/// background noise.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A v1 `cpu` cgroup named for this test, capped at [`QUOTA_US`].
fn capped_cgroup(tag: &str) -> TestCgroup {
    cgroup(tag, &["cpu", "cpuacct"])
}

/// A capped cgroup whose members all run on one CPU (v1 `cpuset`), so a stress worker
/// placed in it shares the server's run queue. Spread over two CPUs, the server's queue
/// kept up to 1 ms of the quota for itself while the worker's queue was throttled (the
/// kernel no longer expires a queue's unused slice), and a server that answers in less
/// than that was slowed only now and then: about one run in five saw +13 to +18 %, not
/// the +1,000 % the others did.
fn capped_cgroup_on_one_cpu(tag: &str) -> TestCgroup {
    let cg = cgroup(tag, &["cpu", "cpuacct", "cpuset"]);
    let dir = cg.dir("cpuset").expect("the cpuset hierarchy is mounted");
    // The first CPU and memory node the root allows; both must be set before members.
    let first = |file: &str| {
        let root = std::fs::read_to_string(Path::new("/sys/fs/cgroup/cpuset").join(file))
            .unwrap_or_else(|_| "0".into());
        root.trim()
            .split([',', '-'])
            .next()
            .unwrap_or("0")
            .to_string()
    };
    std::fs::write(dir.join("cpuset.cpus"), first("cpuset.cpus")).unwrap();
    std::fs::write(dir.join("cpuset.mems"), first("cpuset.mems")).unwrap();
    cg
}

fn cgroup(tag: &str, controllers: &[&str]) -> TestCgroup {
    let cg = TestCgroup::create(
        &format!("fltest-{}-{tag}", std::process::id()),
        controllers,
        false,
    )
    .expect("create a test cgroup (needs root and the v1 cpu hierarchy)");
    let dir = cg.dir("cpu").expect("the cpu hierarchy is mounted");
    std::fs::write(dir.join("cpu.cfs_period_us"), "100000").unwrap();
    std::fs::write(dir.join("cpu.cfs_quota_us"), QUOTA_US.to_string()).unwrap();
    cg
}

/// The probe interval is prime to the quota's 100 ms period on purpose: at 50 ms every
/// probe hit the same two phases of the period, so a run's probes either all missed the
/// stretch where quota is left (the server answers at once) or half of them hit it, and
/// the half runs looked unharmed.
fn yaml(target_pid: u32, port: u16) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: compare-test }}
spec:
  target: {{ local: {{ pid: {target_pid} }} }}
  steadyState:
    - name: latency
      http: {{ url: "http://127.0.0.1:{port}/", every: 37ms, timeout: 2s }}
      expect: "p99 < 2s"
      phases: [before, during]
      compare: {{ maxIncrease: 100%, p: 0.05, samples: {SAMPLES} }}
  steps:
    - name: stress
      stressCpu: {{ workers: 1, load: 100 }}
      duration: 4s
"#
    )
}

struct Outcome {
    verdict: RunState,
    reason: String,
    comparison: Comparison,
    report: Report,
}

/// Runs the experiment as run `id`. Ids differ per test: stress workers are found by
/// their fault id, which starts with the run id, and the tests run in parallel.
async fn run(id: &str, target_pid: u32, port: u16) -> Outcome {
    let _one_at_a_time = SERIAL.lock().await;
    faultline_agent::faults::stress::set_worker_exe(env!("CARGO_BIN_EXE_faultline"));
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let exp = load_str(&yaml(target_pid, port), "t.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    store.create_run(id, &exp.metadata.name, "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let verdict = Runner::new(
        store.clone(),
        Injector::InProcess(agent.clone()),
        opts,
        id.into(),
        exp,
    )
    .execute()
    .await;
    assert!(
        agent.list().await.unwrap().is_empty(),
        "a fault outlived its run"
    );
    let row = store.run(id).unwrap();
    let events = store.events(id).unwrap();
    let comparison = events
        .iter()
        .find_map(|e| match &e.event {
            RunEvent::CheckCompared { comparison, .. } => Some((**comparison).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no comparison recorded: {row:?}\nevents: {events:#?}"));
    Outcome {
        verdict,
        reason: row.reason.clone(),
        comparison,
        report: Report::build(&row, events),
    }
}

#[tokio::test]
async fn a_fault_that_slows_the_service_fails_the_comparison() {
    let cg = capped_cgroup_on_one_cpu("cmp-slow");
    // An empty directory: a listing of /tmp would eat into the quota before any fault.
    let (web, port) = empty_http_server();
    cg.add(web.pid()).unwrap();
    let o = run("slowed", web.pid(), port).await;
    let c = &o.comparison;
    eprintln!("slowed: {}", c.reason);
    assert_eq!(o.verdict, RunState::Failed, "{}", o.reason);
    assert!(!c.ok, "{c:?}");
    assert!(c.p.unwrap() < 0.05, "{c:?}");
    assert!(c.change.is_none_or(|ch| ch > 1.0), "{c:?}");
    assert!(
        c.baseline.count >= SAMPLES && c.during.count >= SAMPLES,
        "{c:?}"
    );
    assert!(
        o.reason
            .contains("latency was worse during the faults than before")
            && o.reason.contains("mann-whitney U = "),
        "{}",
        o.reason
    );
    // The report's during entry carries the comparison and is judged by it.
    let during = o
        .report
        .checks
        .iter()
        .find(|s| s.phase == "during")
        .unwrap();
    assert!(!during.ok && during.comparison.is_some());
    assert_eq!(
        cg.members(),
        [web.pid()],
        "the stress worker was not removed"
    );
}

#[tokio::test]
async fn a_fault_that_does_not_touch_the_service_passes() {
    let web_cg = capped_cgroup("cmp-web");
    let other = capped_cgroup("cmp-other");
    let (web, port) = empty_http_server();
    web_cg.add(web.pid()).unwrap();
    let sleeper = sleeper();
    other.add(sleeper.pid()).unwrap();
    let o = run("unaffected", sleeper.pid(), port).await;
    let c = &o.comparison;
    eprintln!("unaffected: {}", c.reason);
    assert_eq!(o.verdict, RunState::Passed, "{}", o.reason);
    assert!(c.ok && c.p.is_some(), "{c:?}");
    assert_eq!(
        other.members(),
        [sleeper.pid()],
        "the stress worker was not removed"
    );
    drop(web);
}
