//! stressCpu / stressMemory against real cgroups (v1 cpu, cpuacct, memory and the v2
//! mount), as root. Each test makes its own `fltest-<pid>-...` cgroup with a `sleep` in it,
//! applies through the `Fault` trait, measures the effect from cgroup accounting, recovers,
//! and proves no worker is left and the cgroup holds only the `sleep` again.

mod support;

use std::time::Duration;

use faultline_agent::cgroup::{TestCgroup, procs, v2};
use faultline_agent::faults::stress::{Stress, StressEvent, subscribe};
use faultline_agent::faults::{Fault, FaultRecord, Recovered};
use faultline_agent::resolve::resolve;
use faultline_agent::{FaultError, Resolved};
use faultline_spec::fault::{StressCpu, StressMemory};
use faultline_spec::{Bytes, LocalTarget, NodeFault, Percent};
use faultline_test_support::{Proc, unique, wait_until_async};
use support::{cores, marked, memory, record, use_agent_binary_for_workers};

const MIB: u64 = 1 << 20;

fn cpu(load: f64) -> NodeFault {
    NodeFault::StressCpu(StressCpu {
        workers: 1,
        load: Percent::new(load).unwrap(),
        load_slice: None,
    })
}

fn mem(workers: u32, bytes: u64) -> NodeFault {
    NodeFault::StressMemory(StressMemory {
        workers,
        size: Bytes(bytes),
        hang: None,
        oom_score_adj: None,
    })
}

/// Recovers `rec` and proves the workers are gone and `cg` holds only `only`.
async fn recover_clean(rec: &FaultRecord, cg: &TestCgroup, only: u32) -> Recovered {
    let how = Stress.recover(rec).await.expect("recover");
    assert!(
        marked(&rec.id).is_empty(),
        "workers left: {:?}",
        marked(&rec.id)
    );
    for d in &cg.dirs {
        assert_eq!(
            procs::read(&d.path).unwrap(),
            [only],
            "members of {}",
            d.path.display()
        );
    }
    how
}

#[tokio::test]
async fn cpu_stress_loads_the_target_cgroup_and_recovers() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("cpu"), &["cpu", "cpuacct"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();

    // By pid at load 100.
    let target = LocalTarget::Pid(sleep.pid());
    let rec = record(
        "cpu100",
        cpu(100.0),
        target.clone(),
        resolve(&target).unwrap(),
    );
    let v2_before = v2::cpu::usage_ns(cg.dir("v2").unwrap()).unwrap();
    Stress.apply(&rec).await.unwrap();
    Stress.apply(&rec).await.unwrap(); // idempotent: still one worker
    let workers = marked(&rec.id);
    assert_eq!(workers.len(), 1, "one worker, not two");
    for d in &cg.dirs {
        assert!(
            procs::read(&d.path).unwrap().contains(&workers[0]),
            "worker not in {}",
            d.path.display()
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let full = cores(&cg, Duration::from_secs(2)).await;
    let v2_used = v2::cpu::usage_ns(cg.dir("v2").unwrap()).unwrap() - v2_before;
    assert_eq!(
        recover_clean(&rec, &cg, sleep.pid()).await,
        Recovered::Removed
    );
    assert_eq!(
        Stress.recover(&rec).await.unwrap(),
        Recovered::AlreadyGone,
        "recover twice is fine"
    );
    // Generous: other builds share this machine's two cores (the benchmark measures
    // fidelity); an idle cgroup uses ~0.
    assert!(full > 0.25, "load 100 used {full:.2} cores");
    // The v2 mount has no cpu controller here, but its cpu.stat still counts members.
    assert!(v2_used > 500_000_000, "v2 cpu.stat saw {v2_used} ns");

    // By cgroup path at load 50.
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let rec = record(
        "cpu50",
        cpu(50.0),
        target.clone(),
        resolve(&target).unwrap(),
    );
    Stress.apply(&rec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let half = cores(&cg, Duration::from_secs(2)).await;
    assert_eq!(
        recover_clean(&rec, &cg, sleep.pid()).await,
        Recovered::Removed
    );
    assert!((0.1..0.8).contains(&half), "load 50 used {half:.2} cores");
    let idle = cores(&cg, Duration::from_millis(500)).await;
    assert!(
        idle < 0.1,
        "after recovery the cgroup still used {idle:.2} cores"
    );
}

#[tokio::test]
async fn memory_stress_charges_the_target_cgroup_and_recovers() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("mem"), &["memory"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let rec = record(
        "mem64",
        mem(2, 64 * MIB),
        target.clone(),
        resolve(&target).unwrap(),
    );
    let before = memory(&cg);
    Stress.apply(&rec).await.unwrap();
    assert_eq!(marked(&rec.id).len(), 2);
    let grew = wait_until_async(Duration::from_secs(10), || memory(&cg) >= before + 60 * MIB)
        .await
        .is_some();
    let delta = memory(&cg).saturating_sub(before);
    assert_eq!(
        recover_clean(&rec, &cg, sleep.pid()).await,
        Recovered::Removed
    );
    assert!(
        grew && delta < 80 * MIB,
        "usage rose by {} MiB",
        delta / MIB
    );
    let freed = wait_until_async(Duration::from_secs(5), || memory(&cg) < before + 8 * MIB)
        .await
        .is_some();
    assert!(
        freed,
        "usage stayed at {} MiB over the start",
        (memory(&cg) - before) / MIB
    );
}

#[tokio::test]
async fn an_oom_killed_memory_worker_is_reported_not_fatal() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("oom"), &["memory"], false).unwrap();
    faultline_agent::cgroup::v1::memory::set_limit(cg.dir("memory").unwrap(), 32 * MIB).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let mut events = subscribe();
    let target = LocalTarget::Pid(sleep.pid());
    let rec = record(
        "oom",
        mem(1, 128 * MIB),
        target.clone(),
        resolve(&target).unwrap(),
    );
    Stress.apply(&rec).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(StressEvent::OomKilled { fault, pid, cgroup }) if fault == rec.id => {
                    return (pid, cgroup);
                }
                Ok(_) => continue,
                Err(e) => panic!("event stream: {e}"),
            }
        }
    })
    .await
    .expect("no OOM event within 10 s");
    assert!(ev.1.ends_with(&cg.path[1..]), "event names {}", ev.1);
    assert!(
        faultline_agent::resolve::is_alive(&rec.resolved.procs[0]),
        "the target survived"
    );
    assert_eq!(
        recover_clean(&rec, &cg, sleep.pid()).await,
        Recovered::AlreadyGone
    );
}

#[tokio::test]
async fn a_vanished_target_is_refused_and_nothing_runs() {
    use_agent_binary_for_workers();
    // A dead process.
    let resolved = {
        let sleep = Proc::sleep();
        resolve(&LocalTarget::Pid(sleep.pid())).unwrap()
    };
    let rec = record(
        "dead",
        cpu(100.0),
        LocalTarget::Pid(resolved.procs[0].pid),
        resolved,
    );
    assert!(matches!(
        Stress.apply(&rec).await,
        Err(FaultError::TargetNotFound(_))
    ));
    assert!(marked(&rec.id).is_empty());

    // A cgroup removed between resolution and apply.
    let resolved = {
        let cg = TestCgroup::create(&unique("gone"), &["cpu"], false).unwrap();
        resolve(&LocalTarget::Cgroup(cg.path.clone().into())).unwrap()
    };
    let rec = record(
        "gone",
        cpu(100.0),
        LocalTarget::Cgroup("x".into()),
        resolved,
    );
    let err = Stress.apply(&rec).await.unwrap_err();
    assert!(err.to_string().contains("no longer exists"), "{err}");
    assert!(marked(&rec.id).is_empty());

    // A netns target has no cgroup to stress.
    let rec = record(
        "netns",
        cpu(100.0),
        LocalTarget::Netns("/proc/self/ns/net".into()),
        Resolved::default(),
    );
    assert!(matches!(
        Stress.apply(&rec).await,
        Err(FaultError::Unsupported { .. })
    ));
}

#[tokio::test]
async fn workers_are_all_or_nothing() {
    use_agent_binary_for_workers();
    let good = TestCgroup::create(&unique("aon"), &["cpuacct"], false).unwrap();
    // A fresh v1 cpuset cgroup has no CPUs: the kernel refuses members (ENOSPC) after the
    // worker was already placed in `good`.
    let bad = TestCgroup::create(&unique("aon-cpuset"), &["cpuset"], false).unwrap();
    let sleep = Proc::sleep();
    good.add(sleep.pid()).unwrap();
    let mut resolved = resolve(&LocalTarget::Cgroup(good.path.clone().into())).unwrap();
    resolved.cgroups.extend(bad.dirs.iter().cloned());
    let kind = NodeFault::StressCpu(StressCpu {
        workers: 3,
        load: Percent::new(100.0).unwrap(),
        load_slice: None,
    });
    let rec = record(
        "aon",
        kind,
        LocalTarget::Cgroup(good.path.clone().into()),
        resolved,
    );
    let err = Stress.apply(&rec).await.unwrap_err();
    assert!(err.to_string().contains("failed to write pid to"), "{err}");
    let clean = wait_until_async(Duration::from_secs(5), || marked(&rec.id).is_empty())
        .await
        .is_some();
    assert!(
        clean,
        "workers left after a failed apply: {:?}",
        marked(&rec.id)
    );
    assert_eq!(good.members(), [sleep.pid()]);
    assert!(bad.members().is_empty());
}

#[tokio::test]
async fn workers_exit_when_their_parent_dies() {
    let id = faultline_agent::FaultId::new(unique("orphan")).unwrap();
    let script = format!(
        "echo go | '{}' __faultline-stress-worker {id} cpu 5 & sleep 0.5",
        env!("CARGO_BIN_EXE_faultline-agent")
    );
    let mut sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .spawn()
        .unwrap();
    assert!(
        wait_until_async(Duration::from_secs(5), || marked(&id).len() == 1)
            .await
            .is_some(),
        "worker never started"
    );
    sh.wait().unwrap();
    let gone = wait_until_async(Duration::from_secs(5), || marked(&id).is_empty())
        .await
        .is_some();
    assert!(gone, "orphaned worker {:?} still runs", marked(&id));
}

/// Thaws a v1 freezer cgroup on drop.
struct ThawOnDrop(std::path::PathBuf);

impl Drop for ThawOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, "THAWED");
    }
}

#[tokio::test]
async fn stress_in_a_frozen_cgroup_recovers_and_its_workers_die_at_the_thaw() {
    use_agent_binary_for_workers();
    // A pause by freezer on the same target, as in `parallel: [stressCpu, processPause]`.
    let cg =
        TestCgroup::create(&unique("frzstress"), &["cpu", "cpuacct", "freezer"], false).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let target = LocalTarget::Cgroup(cg.dir("freezer").unwrap().to_path_buf());
    let rec = record(
        "frzstress",
        cpu(50.0),
        target.clone(),
        resolve(&target).unwrap(),
    );
    Stress.apply(&rec).await.unwrap();
    let workers = marked(&rec.id);
    assert_eq!(workers.len(), 1);
    let state = cg.dir("freezer").unwrap().join("freezer.state");
    // Declared after the cgroup and the sleep, so dropped before them: a failing assert
    // must not leave frozen processes that the cleanup would wait on for ever.
    let _thaw = ThawOnDrop(state.clone());
    std::fs::write(&state, "FROZEN").unwrap();
    let frozen = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::fs::read_to_string(&state).unwrap().trim() == "FROZEN"
    });
    assert!(frozen, "the freezer did not settle");

    // A frozen worker cannot die, but it holds its SIGKILL and never runs again: the
    // stress is over, and recovery says so instead of failing after its 5 s wait.
    let how = Stress.recover(&rec).await;
    assert!(matches!(how, Ok(Recovered::Removed)), "{how:?}");

    std::fs::write(&state, "THAWED").unwrap();
    // Gone from /proc and from every cgroup: an exiting worker stays listed in cgroup.procs
    // for a moment after its /proc entry stops reading, longer on a loaded machine.
    let only_sleep = || {
        cg.dirs
            .iter()
            .all(|d| procs::read(&d.path).is_ok_and(|p| p == [sleep.pid()]))
    };
    let gone = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        marked(&rec.id).is_empty() && only_sleep()
    });
    assert!(gone, "workers left after the thaw: {:?}", marked(&rec.id));
    for d in &cg.dirs {
        assert_eq!(
            procs::read(&d.path).unwrap(),
            [sleep.pid()],
            "members of {}",
            d.path.display()
        );
    }
}

/// Page faults a process has taken (minflt, field 10 of /proc/PID/stat).
fn minor_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the parenthesised comm; minflt is the 10th field overall.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    rest.split_whitespace()
        .nth(7)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Per-100ms shares of one core the cgroup used over `n` windows.
async fn shares(cg: &TestCgroup, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(cores(cg, Duration::from_millis(100)).await);
    }
    out
}

/// `loadSlice` (Chaos Mesh `--cpu-load-slice`): the same mean load in 500 ms slices
/// instead of 10 ms ones, seen in the cgroup's accounting per 100 ms: with long slices
/// whole windows are idle (the worker sleeps ~400 ms of each slice), with the default
/// none is. Load 20% leaves room for a shared machine: a worker that gets only half a
/// core while it spins still reaches its share early and sleeps the rest.
#[tokio::test]
async fn a_long_load_slice_makes_the_same_load_bursty_and_recovers() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("slice"), &["cpu", "cpuacct"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let slice = |s: Option<u64>, tag: &str| {
        let kind = NodeFault::StressCpu(StressCpu {
            workers: 1,
            load: Percent::new(20.0).unwrap(),
            load_slice: s.map(faultline_spec::Duration::from_millis),
        });
        record(tag, kind, target.clone(), resolve(&target).unwrap())
    };
    let mut seen = Vec::new();
    for (tag, s) in [("slice500", Some(500)), ("slice10", None)] {
        let rec = slice(s, tag);
        Stress.apply(&rec).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        seen.push(shares(&cg, 40).await);
        assert_eq!(
            recover_clean(&rec, &cg, sleep.pid()).await,
            Recovered::Removed
        );
    }
    let (bursty, even) = (&seen[0], &seen[1]);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let idle = |v: &[f64]| v.iter().filter(|s| **s < 0.03).count();
    assert!(
        (0.1..0.3).contains(&mean(bursty)) && (0.1..0.3).contains(&mean(even)),
        "means: 500ms slices {bursty:.2?}, 10ms slices {even:.2?}"
    );
    assert!(
        idle(bursty) >= 12 && idle(bursty) >= idle(even) + 8,
        "idle 100ms windows: {} with 500ms slices {bursty:.2?}, {} with 10ms {even:.2?}",
        idle(bursty),
        idle(even)
    );
    let after = cores(&cg, Duration::from_millis(500)).await;
    assert!(
        after < 0.05,
        "after recovery the cgroup used {after:.2} cores"
    );
}

/// `hang` (Chaos Mesh `--vm-hang`): the worker frees its memory after each hang and
/// touches it again, so its page faults climb by the buffer's pages every cycle, where a
/// plain hold takes them once. The memory is charged to the cgroup throughout. The hang
/// is given until two more cycles have faulted its pages in (a cycle takes the 1s hang
/// plus the touching, which a loaded machine stretches); the hold is watched as long.
#[tokio::test]
async fn a_memory_hang_frees_and_touches_again_each_cycle_and_recovers() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("hang"), &["memory"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let pages = 64 * MIB / 4096;
    let mut watched = Duration::from_secs(15);
    let mut counts = Vec::new();
    for (tag, hang) in [("hang1s", Some(1)), ("hold", None)] {
        let kind = NodeFault::StressMemory(StressMemory {
            workers: 1,
            size: Bytes(64 * MIB),
            hang: hang.map(faultline_spec::Duration::from_secs),
            oom_score_adj: None,
        });
        let rec = record(tag, kind, target.clone(), resolve(&target).unwrap());
        let before = memory(&cg);
        Stress.apply(&rec).await.unwrap();
        let pid = marked(&rec.id)[0];
        let grew = wait_until_async(Duration::from_secs(10), || memory(&cg) >= before + 60 * MIB)
            .await
            .is_some();
        let f0 = minor_faults(pid);
        if hang.is_some() {
            let twice = wait_until_async(watched, || minor_faults(pid) - f0 >= 2 * pages).await;
            watched = twice.unwrap_or(watched);
        } else {
            tokio::time::sleep(watched).await;
        }
        let f1 = minor_faults(pid);
        assert_eq!(
            recover_clean(&rec, &cg, sleep.pid()).await,
            Recovered::Removed
        );
        assert!(grew, "{tag}: the cgroup never held the 64 MiB");
        counts.push(f1 - f0);
    }
    assert!(
        counts[0] >= 2 * pages,
        "a 1s hang over 15s faulted {} pages in again (a cycle is {pages})",
        counts[0]
    );
    assert!(
        counts[1] < pages / 10,
        "a plain hold faulted {} pages in {watched:?} after allocating",
        counts[1]
    );
}

/// True when this process holds CAP_SYS_RESOURCE (bit 24 of CapEff).
fn has_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0);
    eff & (1 << 24) != 0
}

/// `oomScoreAdj`: the workers carry the score, read back from /proc; the agent (here the
/// test process, which spawned them) keeps its own. A score below the agent's own needs
/// CAP_SYS_RESOURCE: with it the workers get it, without it (this machine's container
/// drops it) the fault is refused saying so, and no worker is left.
#[tokio::test]
async fn memory_workers_carry_their_own_oom_score_adj_and_recover() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("oomadj"), &["memory"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let read = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .unwrap()
            .trim()
            .to_string()
    };
    let own = read("self");
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let fault = |adj| {
        NodeFault::StressMemory(StressMemory {
            workers: 2,
            size: Bytes(8 * MIB),
            hang: None,
            oom_score_adj: Some(adj),
        })
    };

    let rec = record(
        "oomup",
        fault(500),
        target.clone(),
        resolve(&target).unwrap(),
    );
    Stress.apply(&rec).await.unwrap();
    let workers = marked(&rec.id);
    let scores: Vec<String> = workers.iter().map(|p| read(&p.to_string())).collect();
    let mine = read("self");
    assert_eq!(
        recover_clean(&rec, &cg, sleep.pid()).await,
        Recovered::Removed
    );
    assert_eq!(workers.len(), 2);
    assert_eq!(scores, ["500", "500"]);
    assert_eq!(mine, own, "the agent's own score moved");

    let rec = record(
        "oomdown",
        fault(-1000),
        target.clone(),
        resolve(&target).unwrap(),
    );
    let applied = Stress.apply(&rec).await;
    let scores: Vec<String> = marked(&rec.id)
        .iter()
        .map(|p| read(&p.to_string()))
        .collect();
    recover_clean(&rec, &cg, sleep.pid()).await;
    if has_sys_resource() {
        applied.unwrap();
        assert_eq!(scores, ["-1000", "-1000"]);
    } else {
        let e = applied.unwrap_err();
        assert!(
            matches!(e, FaultError::OomScoreNeedsCapability { adj: -1000, .. })
                && e.to_string().contains("CAP_SYS_RESOURCE"),
            "{e}"
        );
        assert!(scores.is_empty(), "workers left running: {scores:?}");
    }
    assert_eq!(read("self"), own, "the agent's own score moved");
}
