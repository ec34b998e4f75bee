//! Each family's observation against the real kernel: the fault is seen in effect after
//! apply (read back, not remembered), and a fault undone behind the agent's back, or one
//! that cannot reach its effect, is seen not in effect, with evidence saying what was
//! read. Memory stress is seen as RSS its workers hold, a freezer pause as its cgroup
//! frozen, and a remote agent (the real binary) reports the same over
//! `GET /v1/faults/{id}/observation`. Every test recovers what it applied and proves
//! nothing is left.

mod support;

use std::time::Duration;

use faultline_agent::cgroup::TestCgroup;
use faultline_agent::faults::stress::Stress;
use faultline_agent::faults::{Family, Fault, FaultRecord, Observation, Recovered};
use faultline_agent::resolve::resolve;
use faultline_spec::fault::{NetworkPartition, StressCpu};
use faultline_spec::{LocalTarget, NetworkScope, NodeFault, Percent};
use faultline_test_support::{NetnsPair, Proc, sh, unique};
use support::{bandwidth_on_va, marked, netns_record, record, use_agent_binary_for_workers};

async fn look(rec: &FaultRecord) -> Observation {
    let fam = Family::of(&rec.kind);
    let since = fam.baseline(rec).await;
    fam.observe(rec, &since).await
}

fn netns_name(p: &std::path::Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_tbf_is_read_back_with_its_rate_and_counters_and_one_deleted_behind_us_is_not() {
    let pair = NetnsPair::new("obtbf");
    let before = pair.tc_show_a();
    let rec = netns_record("obtbf", bandwidth_on_va(), &pair.a_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let since = fam.baseline(&rec).await;
    let seen = fam.observe(&rec, &since).await;
    assert!(seen.effective, "{seen:?}");
    assert!(
        seen.evidence
            .starts_with("va: tbf rate 10000000bit/s limit 65536b as asked"),
        "{seen:?}"
    );
    // Traffic through it moves its counters, which the evidence reports.
    pair.throughput_a_to_b(200_000);
    let seen = fam.observe(&rec, &since).await;
    let moved: u64 = seen
        .evidence
        .rsplit("; ")
        .next()
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(moved > 10, "{seen:?}");

    // Someone deletes our qdisc: the fault is no longer in effect, and it says so.
    sh(&format!(
        "ip netns exec {} tc qdisc del dev va root",
        netns_name(&pair.a_path())
    ));
    let seen = fam.observe(&rec, &since).await;
    assert!(!seen.effective, "{seen:?}");
    assert!(
        seen.evidence.starts_with("va: no tbf qdisc of ours"),
        "{seen:?}"
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
    assert_eq!(pair.tc_show_a(), before);
}

#[tokio::test]
async fn a_partition_is_read_back_from_its_nft_rules_and_counters() {
    let pair = NetnsPair::new("obnft");
    let scope = NetworkScope {
        peers: vec![pair.b_addr().parse().unwrap()],
        ..NetworkScope::default()
    };
    let rec = netns_record(
        "obnft",
        NodeFault::NetworkPartition(NetworkPartition { scope }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let since = fam.baseline(&rec).await;
    assert!(!pair.tcp_connects_a_to_b(), "the partition holds");
    let seen = fam.observe(&rec, &since).await;
    assert!(seen.effective, "{seen:?}");
    assert!(seen.evidence.contains("2 of 2 drop rule(s)"), "{seen:?}");
    assert!(!seen.evidence.contains(" 0 packet(s) dropped"), "{seen:?}");

    let table = format!("faultline_{}", rec.id.as_str().replace('-', "_"));
    let ns = netns_name(&pair.a_path());
    sh(&format!("ip netns exec {ns} nft delete table inet {table}"));
    let seen = fam.observe(&rec, &since).await;
    assert!(!seen.effective, "{seen:?}");
    assert!(seen.evidence.ends_with("is not there"), "{seen:?}");
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
    assert!(pair.tcp_connects_a_to_b());
    assert!(!sh(&format!("ip netns exec {ns} nft list tables")).contains("faultline_"));
}

fn cpu(load: f64) -> NodeFault {
    NodeFault::StressCpu(StressCpu {
        workers: 1,
        load: Percent::new(load).unwrap(),
        load_slice: None,
    })
}

/// A cgroup with a `sleep` in it, stressed at `load`; the observation after a second.
async fn stress_seen(cg: &TestCgroup, tag: &str, load: f64) -> (FaultRecord, Observation) {
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let rec = record(tag, cpu(load), target.clone(), resolve(&target).unwrap());
    Stress.apply(&rec).await.unwrap();
    let since = Stress.baseline(&rec).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = Stress.observe(&rec, &since).await;
    assert_eq!(Stress.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(marked(&rec.id).is_empty(), "workers left");
    (rec, seen)
}

#[tokio::test]
async fn cpu_stress_is_seen_in_cgroup_cpu_time_capped_by_its_quota_and_a_frozen_one_is_caught() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("obcpu"), &["cpu", "cpuacct", "freezer"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let (_, seen) = stress_seen(&cg, "obcpu", 60.0).await;
    assert!(seen.effective, "{seen:?}");
    assert!(
        seen.evidence.starts_with("cgroup CPU time rose"),
        "{seen:?}"
    );

    // cpu.cfs_quota_us caps the cgroup at 10% of a CPU (a container's CPU limit): the
    // workers take what the limit allows, which is as stressed as that container gets.
    let quota = cg.dir("cpu").unwrap().join("cpu.cfs_quota_us");
    std::fs::write(&quota, "10000").unwrap();
    let (_, seen) = stress_seen(&cg, "obcpuq", 60.0).await;
    std::fs::write(&quota, "-1").unwrap();
    assert!(seen.effective, "{seen:?}");
    assert!(
        seen.evidence
            .contains("= 0.60 CPU, capped at 0.10 CPU by the cgroup's quota"),
        "{seen:?}"
    );

    // Frozen right after apply: the workers exist but never run. Caught.
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let rec = record(
        "obcpuf",
        cpu(60.0),
        target.clone(),
        resolve(&target).unwrap(),
    );
    Stress.apply(&rec).await.unwrap();
    let since = Stress.baseline(&rec).await;
    let state = cg.dir("freezer").unwrap().join("freezer.state");
    std::fs::write(&state, "FROZEN").unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = Stress.observe(&rec, &since).await;
    std::fs::write(&state, "THAWED").unwrap();
    assert_eq!(Stress.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(!seen.effective, "{seen:?}");
    assert!(
        seen.evidence.contains("asked 1 worker(s) x 60% = 0.60 CPU"),
        "{seen:?}"
    );
    assert!(seen.evidence.contains("below 50% of it"), "{seen:?}");
    let gone = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        marked(&rec.id).is_empty() && cg.members() == [sleep.pid()]
    });
    assert!(gone, "workers left: {:?}", cg.members());
}

#[tokio::test]
async fn a_pause_is_seen_as_state_t_and_a_resumed_process_is_not() {
    let sleep = Proc::sleep();
    let target = LocalTarget::Pid(sleep.pid());
    let kind: NodeFault = serde_json::from_str(r#"{"processPause":{}}"#).unwrap();
    let rec = record("obpause", kind, target.clone(), resolve(&target).unwrap());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.settle(std::slice::from_ref(&rec)).await.unwrap();
    let seen = look(&rec).await;
    assert!(
        seen.effective && seen.evidence.contains("stopped (state T)"),
        "{seen:?}"
    );

    sleep.signal(nix::sys::signal::Signal::SIGCONT);
    assert!(sleep.reaches('S'));
    let seen = look(&rec).await;
    assert!(
        !seen.effective && seen.evidence.starts_with("not stopped"),
        "{seen:?}"
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(sleep.state(), 'S');
}

#[tokio::test]
async fn a_kill_is_seen_as_the_process_gone_and_an_ignored_sigterm_is_caught() {
    let mut victim = Proc::sleep();
    let target = LocalTarget::Pid(victim.pid());
    let kill = |signal: &str| -> NodeFault {
        serde_json::from_str(&format!(r#"{{"processKill":{{"signal":"{signal}"}}}}"#)).unwrap()
    };
    let rec = record(
        "obkill",
        kill("SIGKILL"),
        target.clone(),
        resolve(&target).unwrap(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    // The kernel takes a moment to finish a SIGKILL; the request's settle waits for it,
    // so the first read-back after the agent answers sees the process gone (a zombie not
    // yet reaped counts as gone, as after the reap). Read without waiting: a fact-check
    // that saw it alive would wait a whole read-back interval (250 ms) in the service.
    fam.settle(std::slice::from_ref(&rec)).await.unwrap();
    let seen = look(&rec).await;
    assert!(
        seen.effective && seen.evidence.starts_with("1 of 1 process(es) gone"),
        "{seen:?}"
    );
    assert!(
        faultline_test_support::wait_until(Duration::from_secs(2), || victim.exited()).is_some()
    );

    // A process that ignores SIGTERM outlives it: not in effect, and the reason.
    let stubborn =
        Proc::spawn(std::process::Command::new("sh").args(["-c", "trap '' TERM; exec sleep 60"]));
    std::thread::sleep(Duration::from_millis(200));
    let target = LocalTarget::Pid(stubborn.pid());
    let rec = record(
        "obterm",
        kill("SIGTERM"),
        target.clone(),
        resolve(&target).unwrap(),
    );
    fam.apply(&rec).await.unwrap();
    let seen = look(&rec).await;
    assert!(!seen.effective, "{seen:?}");
    assert!(
        seen.evidence
            .contains(&format!("{} ignores SIGTERM", stubborn.pid())),
        "{seen:?}"
    );
}

const MIB: u64 = 1 << 20;

fn mem(workers: u32, bytes: u64) -> NodeFault {
    NodeFault::StressMemory(faultline_spec::fault::StressMemory {
        workers,
        size: faultline_spec::Bytes(bytes),
        hang: None,
        oom_score_adj: None,
    })
}

/// Observes `rec` (baseline now) until it is seen or `tries` x 100 ms pass.
async fn look_until_seen(rec: &FaultRecord, tries: usize) -> Observation {
    let fam = Family::of(&rec.kind);
    let since = fam.baseline(rec).await;
    let mut seen = fam.observe(rec, &since).await;
    for _ in 0..tries {
        if seen.effective {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = fam.observe(rec, &since).await;
    }
    seen
}

#[tokio::test]
async fn memory_stress_is_seen_as_rss_held_and_killed_workers_are_not() {
    use_agent_binary_for_workers();
    let cg = TestCgroup::create(&unique("obmem"), &["memory"], true).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let rec = record(
        "obmem",
        mem(2, 48 * MIB),
        target.clone(),
        resolve(&target).unwrap(),
    );
    Stress.apply(&rec).await.unwrap();
    let held = look_until_seen(&rec, 100).await;
    let workers = marked(&rec.id);
    // Behind the agent's back: the workers are killed (as an OOM kill would).
    for pid in &workers {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let gone =
        faultline_test_support::wait_until(Duration::from_secs(5), || marked(&rec.id).is_empty());
    let after = look(&rec).await;
    // Recovered before any assertion, so a failing one leaves nothing behind.
    let recovered = Stress.recover(&rec).await;
    assert!(marked(&rec.id).is_empty(), "workers left");
    assert!(recovered.is_ok(), "{recovered:?}");
    assert_eq!(workers.len(), 2);
    assert!(held.effective, "{held:?}");
    assert!(
        held.evidence.starts_with("2 worker(s) hold ") && held.evidence.ends_with("(asked 48MiB)"),
        "{held:?}"
    );
    assert!(gone.is_some(), "the killed workers stayed");
    assert!(!after.effective, "{after:?}");
    assert_eq!(after.evidence, "0 of 2 stress worker(s) running");
    assert_eq!(cg.members(), [sleep.pid()]);
}

#[tokio::test]
async fn a_freezer_pause_is_seen_as_the_cgroup_frozen_and_a_thaw_behind_us_is_caught() {
    let cg = faultline_test_support::FreezerCgroup::create("obfrz");
    let sleep = Proc::sleep();
    cg.add(sleep.pid());
    let target = LocalTarget::Pid(sleep.pid());
    let kind: NodeFault = serde_json::from_str(r#"{"processPause":{"method":"freezer"}}"#).unwrap();
    let rec = record("obfrz", kind, target.clone(), resolve(&target).unwrap());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.settle(std::slice::from_ref(&rec)).await.unwrap();
    let frozen = look(&rec).await;
    let state_frozen = cg.state();
    // Behind the agent's back: thawed.
    std::fs::write(cg.0.join("freezer.state"), "THAWED").unwrap();
    let thawed = look(&rec).await;
    let recovered = fam.recover(&rec).await;
    let dir = cg.0.display().to_string();
    assert_eq!(state_frozen, "FROZEN");
    assert!(frozen.effective, "{frozen:?}");
    assert_eq!(frozen.evidence, format!("cgroup {dir} frozen"));
    assert!(!thawed.effective, "{thawed:?}");
    assert_eq!(thawed.evidence, format!("cgroup {dir} not frozen"));
    assert!(recovered.is_ok(), "{recovered:?}");
    assert_eq!(cg.state(), "THAWED");
    assert!(sleep.reaches('S'));
}

#[tokio::test]
async fn a_remote_agent_reports_its_observation_over_http() {
    use faultline_agent::protocol::ApplyRequest;
    use faultline_agent::{AgentClient, FaultId};
    const TOKEN: &str = "observe-token";
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let agent = support::AgentProc::start(&dir.path().join("state"), &token_file, 0);
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let (a, b) = (Proc::sleep(), Proc::sleep());
    let req = ApplyRequest {
        id: FaultId::new("obhttp").unwrap(),
        kind: serde_json::from_str(r#"{"processPause":{}}"#).unwrap(),
        targets: vec![LocalTarget::Pid(a.pid()), LocalTarget::Pid(b.pid())],
        lease_seconds: 60,
    };
    client.apply(&req).await.unwrap();
    let both = client.observe(&req.id).await;
    // Behind the agent's back: one of the two runs again.
    b.signal(nix::sys::signal::Signal::SIGCONT);
    let b_runs = b.reaches('S');
    let one = client.observe(&req.id).await;
    let recovered = client.recover(&req.id).await;
    let after = client.observe(&req.id).await;
    let both = both.unwrap().observations;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0].id.as_str(), "obhttp-0");
    assert!(
        both.iter()
            .all(|o| o.effective && o.evidence.contains("stopped (state T)")),
        "{both:?}"
    );
    assert_eq!(both[0].kind, "processPause");
    assert_eq!(both[0].target, format!("pid {}", a.pid()));
    assert!(b_runs);
    let one = one.unwrap().observations;
    assert_eq!(
        one.iter().map(|o| o.effective).collect::<Vec<_>>(),
        [true, false],
        "{one:?}"
    );
    assert!(one[1].evidence.starts_with("not stopped"), "{one:?}");
    assert!(recovered.is_ok(), "{recovered:?}");
    assert_eq!(
        after.unwrap_err().status(),
        Some(reqwest::StatusCode::NOT_FOUND),
        "a recovered fault has nothing to observe"
    );
    assert!(a.reaches('S'));
}
