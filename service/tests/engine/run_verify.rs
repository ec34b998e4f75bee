//! `verify:` end to end with the in-process agent: a fault seen in effect is recorded
//! `FaultVerified` with its coverage and evidence; a CPU stress aimed at a cgroup whose
//! parent is capped at 1% of a CPU (`cpu.cfs_quota_us`) cannot reach its load while the
//! host has CPUs to spare, so the run ends `error: fault did not take effect` with what
//! was read, and nothing of it stays applied. (A quota on the target cgroup itself is a
//! container's CPU limit: a stress that fills it is in effect.)

use std::sync::Arc;
use std::time::Duration;

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::application::report::Report;
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_agent::cgroup::TestCgroup;
use faultline_spec::load_str;
use faultline_test_support::Proc;

async fn run(tag: &str, yaml: &str) -> (RunState, Arc<Store>, Arc<Agent>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let exp = load_str(yaml, "verify.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    store.create_run(tag, &exp.metadata.name, "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(10),
        prometheus: None,
        ..RunOptions::default()
    };
    let r = Runner::new(
        store.clone(),
        Injector::InProcess(agent.clone()),
        opts,
        tag.into(),
        exp,
    );
    (r.execute().await, store, agent, dir)
}

fn stress_yaml(cgroup: &str, verify: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: verify-test }}
spec:
  target: {{ local: {{ cgroup: {cgroup} }} }}
  steps:
    - name: burn
      stressCpu: {{ workers: 1, load: 60 }}
      duration: 2s
{verify}
"#
    )
}

fn cgroup(tag: &str) -> (TestCgroup, Proc) {
    faultline_agent::faults::stress::set_worker_exe(env!("CARGO_BIN_EXE_faultline"));
    let cg = TestCgroup::create(
        &format!("fltest-{}-{tag}", std::process::id()),
        &["cpu", "cpuacct"],
        false,
    )
    .expect("create a test cgroup (needs root and the v1 cpu hierarchy)");
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    (cg, sleep)
}

/// A child cgroup `inner` of `cg` in each of its hierarchies, removed on drop (before
/// `cg` itself, which cannot go while it has children).
struct Inner(Vec<std::path::PathBuf>);

impl Inner {
    fn create(cg: &TestCgroup) -> Inner {
        let mut dirs: Vec<std::path::PathBuf> =
            cg.dirs.iter().map(|d| d.path.join("inner")).collect();
        dirs.sort();
        dirs.dedup();
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        Inner(dirs)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[tokio::test]
async fn a_stress_seen_in_cgroup_cpu_time_is_verified_with_its_coverage() {
    let (cg, sleep) = cgroup("vok");
    let (verdict, store, agent, _d) = run("vok", &stress_yaml(&cg.path, "")).await;
    let row = store.run("vok").unwrap();
    assert_eq!(verdict, RunState::Passed, "{row:?}");
    let events = store.events("vok").unwrap();
    let verified = events.iter().find_map(|e| match &e.event {
        RunEvent::FaultVerified {
            affected,
            selected,
            evidence,
            ..
        } => Some((*affected, *selected, evidence.clone())),
        _ => None,
    });
    let (affected, selected, evidence) = verified.expect("a FaultVerified event");
    assert_eq!((affected, selected), (1, 1));
    assert!(evidence.contains("cgroup CPU time rose"), "{evidence}");
    let report = Report::build(&row, events);
    assert_eq!(report.faults[0].state, "verified");
    assert_eq!(report.verifications[0].coverage, "1/1");
    assert!(agent.list().await.unwrap().is_empty());
    assert_eq!(cg.members(), [sleep.pid()], "no worker left");
}

#[tokio::test]
async fn a_stress_that_cannot_reach_its_load_ends_the_run_in_error_and_is_recovered() {
    let (cg, sleep) = cgroup("vquota");
    let inner = Inner::create(&cg);
    let quota = cg.dir("cpu").unwrap().join("cpu.cfs_quota_us");
    std::fs::write(&quota, "1000").unwrap(); // 1% of a CPU, for the parent of the target
    let started = std::time::Instant::now();
    let (verdict, store, agent, _d) = run(
        "vquota",
        &stress_yaml(
            &format!("{}/inner", cg.path),
            "      verify: { within: 1500ms }",
        ),
    )
    .await;
    std::fs::write(&quota, "-1").unwrap();
    drop(inner);
    let row = store.run("vquota").unwrap();
    assert_eq!(verdict, RunState::Error, "{row:?}");
    assert!(
        row.reason
            .starts_with("fault did not take effect: step burn (stressCpu) seen on 0/1"),
        "{}",
        row.reason
    );
    assert!(row.reason.contains("below 50% of it"), "{}", row.reason);
    // It gave up at `within`, not at the step's end.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let events = store.events("vquota").unwrap();
    assert!(
        events.iter().any(|e| matches!(
            &e.event,
            RunEvent::FaultUnverified {
                affected: 0,
                selected: 1,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(events.iter().any(
        |e| matches!(&e.event, RunEvent::FaultRecovered { outcome, .. } if outcome == "removed")
    ));
    let report = Report::build(&row, events);
    assert_eq!(report.faults[0].state, "unverified");
    assert!(!report.verifications[0].verified);
    assert!(
        agent.list().await.unwrap().is_empty(),
        "nothing stays applied"
    );
    assert_eq!(cg.members(), [sleep.pid()], "no worker left");
}

#[tokio::test]
async fn verify_false_skips_the_check() {
    let (cg, sleep) = cgroup("voff");
    let quota = cg.dir("cpu").unwrap().join("cpu.cfs_quota_us");
    std::fs::write(&quota, "1000").unwrap();
    let (verdict, store, _agent, _d) =
        run("voff", &stress_yaml(&cg.path, "      verify: false")).await;
    std::fs::write(&quota, "-1").unwrap();
    assert_eq!(verdict, RunState::Passed);
    let events = store.events("voff").unwrap();
    assert!(!events.iter().any(|e| matches!(
        &e.event,
        RunEvent::FaultVerified { .. } | RunEvent::FaultUnverified { .. }
    )));
    assert_eq!(cg.members(), [sleep.pid()]);
}
