//! diskFill and ioThrottle on a real kernel: loop devices over small images, a filesystem
//! mounted only inside a target process's own mount namespace, a blkio cgroup, and `dd`
//! with O_DIRECT. Needs root and loop devices. Every fixture (process, mount namespace,
//! loop device, cgroup) is removed on drop, also when an assertion fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use faultline_agent::cgroup::TestCgroup;
use faultline_agent::error::error_chain;
use faultline_agent::protocol::ApplyRequest;
use faultline_agent::target::Prior;
use faultline_agent::{Agent, AgentClient, FaultId, Recovered};
use faultline_spec::LocalTarget;
use faultline_test_support::{LoopDev, MountedIn, next_number, wait_until};
use nix::sys::signal::Signal;
use support::AgentProc;

fn req(id: &str, kind: &str, targets: Vec<LocalTarget>) -> ApplyRequest {
    ApplyRequest {
        id: FaultId::new(id).unwrap(),
        kind: serde_json::from_str(kind).unwrap(),
        targets,
        lease_seconds: 60,
    }
}

/// `df`'s Use% of the filesystem at `path`, in percent, and its available bytes.
fn df(path: &Path) -> (f64, u64) {
    let s = nix::sys::statvfs::statvfs(path).unwrap();
    let unit = s.fragment_size() as u64;
    let used = (s.blocks() - s.blocks_free()) as u64 * unit;
    let avail = s.blocks_available() as u64 * unit;
    (used as f64 * 100.0 / (used + avail) as f64, avail)
}

fn fill_file(rec: &faultline_agent::FaultRecord) -> PathBuf {
    match &rec.prior {
        Some(Prior::FillFile { file, .. }) => file.clone(),
        other => panic!("the record names no fill file: {other:?}"),
    }
}

#[tokio::test]
async fn a_fill_reaches_the_asked_share_in_the_targets_namespace_and_recovery_frees_it() {
    let state = tempfile::tempdir().unwrap();
    let agent = Agent::open(state.path()).await.unwrap();
    let dev = LoopDev::new(64, Some("ext4"));
    let target = MountedIn::new(&dev);
    let inside = target.inside(&target.mnt);
    // The path means the loop filesystem only to the target: on the test's side it is an
    // empty directory on another filesystem.
    let host_before = df(&target.mnt);
    let (before, avail_before) = df(&inside);
    assert!(before < 5.0, "fresh filesystem {before}% used");

    let id = format!("fill{}", next_number());
    let kind = format!(
        r#"{{"diskFill":{{"path":"{}","fill":90}}}}"#,
        target.mnt.display()
    );
    let pid = target.proc.pid();
    let recs = agent
        .apply(req(&id, &kind, vec![LocalTarget::Pid(pid)]))
        .await
        .unwrap();
    let file = fill_file(&recs[0]);
    assert_eq!(
        file,
        target.mnt.join(format!(".faultline-fill-{}", recs[0].id))
    );
    let (after, avail_after) = df(&inside);
    println!(
        "diskFill 90%: {before:.1}% -> {after:.1}% used, available {avail_before} -> {avail_after}"
    );
    assert!((89.0..=91.0).contains(&after), "fill reached {after}%");
    assert!(target.inside(&file).is_file());
    assert!(
        !target.mnt.join(file.file_name().unwrap()).exists(),
        "the file went to the host's directory"
    );
    assert_eq!(
        df(&target.mnt).0.round(),
        host_before.0.round(),
        "the host's filesystem was filled"
    );

    let seen = agent.observe(FaultId::new(&id).unwrap()).await.unwrap();
    assert!(seen[0].effective, "{}", seen[0].evidence);
    assert!(seen[0].evidence.contains("statvfs"), "{}", seen[0].evidence);
    println!("observed: {}", seen[0].evidence);

    // The same request again changes nothing.
    agent
        .apply(req(&id, &kind, vec![LocalTarget::Pid(pid)]))
        .await
        .unwrap();
    assert!((df(&inside).0 - after).abs() < 0.5);

    let out = agent.recover(FaultId::new(&id).unwrap()).await.unwrap();
    assert_eq!(out[0].outcome, Recovered::Removed);
    assert!(
        !target.inside(&file).exists(),
        "fill file left after recovery"
    );
    let (recovered, _) = df(&inside);
    assert!(
        (recovered - before).abs() < 1.0,
        "{before}% before, {recovered}% after recovery"
    );
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_size_fill_and_every_refusal_leave_nothing_behind() {
    let state = tempfile::tempdir().unwrap();
    let agent = Agent::open(state.path()).await.unwrap();
    let dev = LoopDev::new(64, Some("ext4"));
    let target = MountedIn::new(&dev);
    let inside = target.inside(&target.mnt);
    let pid = vec![LocalTarget::Pid(target.proc.pid())];
    let mnt = target.mnt.display().to_string();
    let (_, avail0) = df(&inside);

    let sized = format!("size{}", next_number());
    let recs = agent
        .apply(req(
            &sized,
            &format!(r#"{{"diskFill":{{"path":"{mnt}","size":"40MiB"}}}}"#),
            pid.clone(),
        ))
        .await
        .unwrap();
    let (pct, avail) = df(&inside);
    assert!(avail0 - avail >= 40 << 20, "available {avail0} -> {avail}");
    let seen = agent.observe(FaultId::new(&sized).unwrap()).await.unwrap();
    assert!(seen[0].effective, "{}", seen[0].evidence);

    // Already above the asked fill: refused, saying how full, nothing made.
    let err = agent
        .apply(req(
            &format!("low{}", next_number()),
            &format!(r#"{{"diskFill":{{"path":"{mnt}","fill":50}}}}"#),
            pid.clone(),
        ))
        .await
        .unwrap_err();
    let err = error_chain(&err);
    assert!(
        err.contains(&format!(
            "already {pct:.1}% full, at or above the asked 50%"
        )),
        "{err}"
    );
    // More than the room above the 1% margin.
    let err = agent
        .apply(req(
            &format!("big{}", next_number()),
            &format!(r#"{{"diskFill":{{"path":"{mnt}","size":"60MiB"}}}}"#),
            pid.clone(),
        ))
        .await
        .unwrap_err();
    let err = error_chain(&err);
    assert!(err.contains("would leave less than the 1%"), "{err}");
    // A path the target does not have.
    let err = agent
        .apply(req(
            &format!("nopath{}", next_number()),
            r#"{"diskFill":{"path":"/no/such/dir","fill":90}}"#,
            pid.clone(),
        ))
        .await
        .unwrap_err();
    let err = error_chain(&err);
    assert!(
        err.contains("/no/such/dir does not exist in the target's mount namespace"),
        "{err}"
    );
    let files: Vec<_> = std::fs::read_dir(&inside)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".faultline-fill-"))
        .collect();
    assert_eq!(
        files,
        vec![format!(".faultline-fill-{}", recs[0].id)],
        "refused fills left files"
    );

    agent.recover(FaultId::new(&sized).unwrap()).await.unwrap();
    assert!(!target.inside(&fill_file(&recs[0])).exists());
    assert!(agent.list().await.unwrap().is_empty());
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_filesystem_without_fallocate_is_refused_by_name() {
    let state = tempfile::tempdir().unwrap();
    let agent = Agent::open(state.path()).await.unwrap();
    // ext2 has no extents, so no fallocate.
    let dev = LoopDev::new(16, Some("ext2"));
    let target = MountedIn::new(&dev);
    let err = agent
        .apply(req(
            &format!("ext2{}", next_number()),
            &format!(
                r#"{{"diskFill":{{"path":"{}","fill":50}}}}"#,
                target.mnt.display()
            ),
            vec![LocalTarget::Pid(target.proc.pid())],
        ))
        .await
        .unwrap_err();
    let err = error_chain(&err);
    assert!(
        err.contains("(ext2/3/4) does not support fallocate; diskFill never writes zeroes instead"),
        "{err}"
    );
    let left = std::fs::read_dir(target.inside(&target.mnt))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".faultline-fill-")
        })
        .count();
    assert_eq!(left, 0);
    assert!(agent.list().await.unwrap().is_empty());
    agent.shutdown().await.unwrap();
}

const TOKEN: &str = "disk-crash-test-token";

#[tokio::test]
async fn a_fill_left_by_a_killed_agent_is_deleted_when_it_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let state = dir.path().join("state");
    let dev = LoopDev::new(64, Some("ext4"));
    let target = MountedIn::new(&dev);
    let inside = target.inside(&target.mnt);
    let (before, _) = df(&inside);

    let agent = AgentProc::start(&state, &token_file, 0);
    let port = agent.port;
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let resp = client
        .apply(&req(
            "crashfill",
            &format!(
                r#"{{"diskFill":{{"path":"{}","fill":80}}}}"#,
                target.mnt.display()
            ),
            vec![LocalTarget::Pid(target.proc.pid())],
        ))
        .await
        .unwrap();
    let file = fill_file(&resp.records[0]);
    assert!((79.0..=81.0).contains(&df(&inside).0));

    agent.signal(Signal::SIGKILL);
    drop(agent);
    // The fill outlives the agent until the next one starts: the journal names the file.
    std::thread::sleep(Duration::from_millis(200));
    assert!(target.inside(&file).is_file());
    let journal = std::fs::read_to_string(state.join("journal.jsonl")).unwrap();
    assert!(journal.contains(&file.display().to_string()), "{journal}");

    let started = Instant::now();
    let agent = AgentProc::start(&state, &token_file, port);
    let gone = wait_until(Duration::from_secs(10), || !target.inside(&file).exists());
    assert!(
        gone.is_some(),
        "the restarted agent left {}",
        file.display()
    );
    println!(
        "crash recovery: fill file deleted {:?} after the agent started",
        started.elapsed()
    );
    assert!((df(&inside).0 - before).abs() < 1.0);
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    assert!(client.list().await.unwrap().faults.is_empty());
}

/// `dd` of `mib` MiB with O_DIRECT onto `dev`, run inside cgroup dir `cg`; how long it took.
fn dd_in(cg: &Path, dev: &Path, mib: u32) -> Duration {
    let started = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec dd if=/dev/zero of={} bs=64k count={} oflag=direct",
            cg.display(),
            dev.display(),
            mib * 16
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "dd: {out:?}");
    started.elapsed()
}

#[tokio::test]
async fn a_write_throttle_slows_direct_io_to_the_limit_and_recovery_restores_the_old_one() {
    let state = tempfile::tempdir().unwrap();
    let agent = Agent::open(state.path()).await.unwrap();
    let dev = LoopDev::new(32, None);
    let cg = match TestCgroup::create(&format!("fltest-io-{}", next_number()), &["blkio"], false) {
        Ok(c) => c,
        Err(e) => panic!("a blkio cgroup is needed: {e}"),
    };
    let Some(dir) = cg.dir("blkio").map(Path::to_path_buf) else {
        println!("SKIPPED: no cgroup v1 blkio hierarchy here; the kernel tier tests v2 io.max");
        return;
    };
    let wbps_file = dir.join("blkio.throttle.write_bps_device");
    // A limit someone set before the fault: recovery must put it back.
    std::fs::write(&wbps_file, format!("{} 104857600", dev.number)).unwrap();
    let fast = dd_in(&dir, &dev.dev, 2);

    let id = format!("io{}", next_number());
    let kind = format!(
        r#"{{"ioThrottle":{{"device":"{}","wbps":"1MiB"}}}}"#,
        dev.number
    );
    let target = vec![LocalTarget::Cgroup(PathBuf::from(&cg.path))];
    let recs = agent.apply(req(&id, &kind, target)).await.unwrap();
    match &recs[0].prior {
        Some(Prior::IoLimits {
            before, device, v2, ..
        }) => {
            assert_eq!((device.as_str(), *v2), (dev.number.as_str(), false));
            assert_eq!(before.wbps, Some(104857600));
        }
        other => panic!("no prior limits journaled: {other:?}"),
    }
    let line = std::fs::read_to_string(&wbps_file).unwrap();
    assert!(line.contains(&format!("{} 1048576", dev.number)), "{line}");
    let seen = agent.observe(FaultId::new(&id).unwrap()).await.unwrap();
    assert!(seen[0].effective, "{}", seen[0].evidence);

    let slow = dd_in(&dir, &dev.dev, 3);
    let rate = 3.0 / slow.as_secs_f64();
    println!(
        "ioThrottle wbps=1MiB: 3 MiB O_DIRECT in {slow:?} ({rate:.2} MiB/s); unthrottled 2 MiB in {fast:?}"
    );
    assert!(
        (0.5..=1.5).contains(&rate),
        "{rate:.2} MiB/s under a 1 MiB/s limit"
    );
    let seen = agent.observe(FaultId::new(&id).unwrap()).await.unwrap();
    assert!(
        seen[0].evidence.contains("bytes since apply"),
        "{}",
        seen[0].evidence
    );
    println!("observed: {}", seen[0].evidence);

    let out = agent.recover(FaultId::new(&id).unwrap()).await.unwrap();
    assert_eq!(out[0].outcome, Recovered::Removed);
    let line = std::fs::read_to_string(&wbps_file).unwrap();
    assert!(
        line.contains(&format!("{} 104857600", dev.number)),
        "the earlier limit was not restored: {line}"
    );
    let again = dd_in(&dir, &dev.dev, 2);
    assert!(
        again < Duration::from_millis(1500),
        "still slow after recovery: {again:?}"
    );
    // Recovering again finds it gone.
    assert!(
        agent
            .recover(FaultId::new(&id).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    std::fs::write(&wbps_file, format!("{} 0", dev.number)).unwrap();
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_throttle_by_path_finds_the_disk_in_the_targets_namespace() {
    let state = tempfile::tempdir().unwrap();
    let agent = Agent::open(state.path()).await.unwrap();
    let dev = LoopDev::new(32, Some("ext4"));
    let target = MountedIn::new(&dev);
    let cg =
        TestCgroup::create(&format!("fltest-iop-{}", next_number()), &["blkio"], false).unwrap();
    let Some(dir) = cg.dir("blkio").map(Path::to_path_buf) else {
        println!("SKIPPED: no cgroup v1 blkio hierarchy here");
        return;
    };
    cg.add(target.proc.pid()).unwrap();
    let id = format!("iop{}", next_number());
    let kind = format!(
        r#"{{"ioThrottle":{{"path":"{}","riops":100,"wiops":50}}}}"#,
        target.mnt.display()
    );
    agent
        .apply(req(&id, &kind, vec![LocalTarget::Pid(target.proc.pid())]))
        .await
        .unwrap();
    let r = std::fs::read_to_string(dir.join("blkio.throttle.read_iops_device")).unwrap();
    let w = std::fs::read_to_string(dir.join("blkio.throttle.write_iops_device")).unwrap();
    assert!(r.contains(&format!("{} 100", dev.number)), "{r}");
    assert!(w.contains(&format!("{} 50", dev.number)), "{w}");
    let seen = agent.observe(FaultId::new(&id).unwrap()).await.unwrap();
    assert!(seen[0].effective, "{}", seen[0].evidence);
    agent.recover(FaultId::new(&id).unwrap()).await.unwrap();
    let r = std::fs::read_to_string(dir.join("blkio.throttle.read_iops_device")).unwrap();
    let w = std::fs::read_to_string(dir.join("blkio.throttle.write_iops_device")).unwrap();
    assert!(
        !r.contains(&dev.number) && !w.contains(&dev.number),
        "left: {r}{w}"
    );
    agent.shutdown().await.unwrap();
}
