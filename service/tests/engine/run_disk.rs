//! diskFill and ioThrottle through the service's engine with the in-process agent: a
//! filesystem mounted only in the target's mount namespace is filled to 80% and a write
//! limit set on the target's blkio cgroup, each verified (`FaultVerified` with what
//! statvfs and the cgroup file read), reported, and gone after the run.

use std::path::Path;
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
use faultline_test_support::{LoopDev, MountedIn, next_number};

#[tokio::test]
async fn a_disk_fill_and_an_io_throttle_are_verified_reported_and_removed() {
    let dev = LoopDev::new(64, Some("ext4"));
    let target = MountedIn::new(&dev);
    let cg = TestCgroup::create(&format!("fltest-disk-{}", next_number()), &["blkio"], false)
        .expect("a blkio test cgroup (needs root)");
    let Some(blkio) = cg.dir("blkio").map(Path::to_path_buf) else {
        println!("SKIPPED: no cgroup v1 blkio hierarchy here; the kernel tier tests v2 io.max");
        return;
    };
    cg.add(target.proc.pid()).unwrap();
    let mnt = target.mnt.display();
    let yaml = format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: disk-test }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steps:
    - name: fill
      diskFill: {{ path: {mnt}, fill: 80 }}
      duration: 1s
    - name: slow-writes
      ioThrottle: {{ path: {mnt}, wbps: 1MiB }}
      duration: 1s
"#,
        pid = target.proc.pid()
    );
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let exp = load_str(&yaml, "disk.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    store.create_run("disk1", &exp.metadata.name, "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(10),
        prometheus: None,
        ..RunOptions::default()
    };
    let runner = Runner::new(
        store.clone(),
        Injector::InProcess(agent.clone()),
        opts,
        "disk1".into(),
        exp,
    );
    let verdict = runner.execute().await;
    let row = store.run("disk1").unwrap();
    assert_eq!(verdict, RunState::Passed, "{row:?}");
    let events = store.events("disk1").unwrap();
    let evidence: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            RunEvent::FaultVerified { evidence, .. } => Some(evidence.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    assert!(
        evidence[0].contains("statvfs") && evidence[0].contains("(asked fill 80%)"),
        "{}",
        evidence[0]
    );
    assert!(
        evidence[1].contains(&format!("{} wbps=1048576", dev.number)),
        "{}",
        evidence[1]
    );
    let report = Report::build(&row, events);
    let kinds: Vec<(&str, &str)> = report
        .faults
        .iter()
        .map(|f| (f.kind.as_str(), f.state))
        .collect();
    assert_eq!(
        kinds,
        [("diskFill", "verified"), ("ioThrottle", "verified")]
    );
    // Nothing stays: no fill file, no limit line, nothing active in the agent.
    assert!(agent.list().await.unwrap().is_empty());
    let left = std::fs::read_dir(target.inside(&target.mnt))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".faultline-fill-")
        })
        .count();
    assert_eq!(left, 0, "a fill file outlived the run");
    let line = std::fs::read_to_string(blkio.join("blkio.throttle.write_bps_device")).unwrap();
    assert!(
        !line.contains(&dev.number),
        "a limit outlived the run: {line}"
    );
}
