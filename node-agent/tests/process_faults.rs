//! processKill / processPause against real `sleep` processes, through the in-process
//! agent (journal included). Needs root for the freezer cgroup.

use std::time::Duration;

use faultline_agent::protocol::ApplyRequest;
use faultline_agent::{Agent, AgentError, FaultError, FaultId, Recovered};
use faultline_spec::LocalTarget;
use faultline_test_support::{FreezerCgroup, Proc, wait_until};

fn req(id: &str, kind: &str, targets: Vec<LocalTarget>) -> ApplyRequest {
    ApplyRequest {
        id: FaultId::new(id).unwrap(),
        kind: serde_json::from_str(kind).unwrap(),
        targets,
        lease_seconds: 60,
    }
}

#[tokio::test]
async fn pause_stops_the_process_and_recovery_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let s = Proc::sleep();
    assert_eq!(s.state(), 'S');
    let recs = agent
        .apply(req(
            "pause1",
            r#"{"processPause":{}}"#,
            vec![LocalTarget::Pid(s.pid())],
        ))
        .await
        .unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].id.as_str(), "pause1-0");
    assert!(s.reaches('T'), "paused process must be stopped");
    assert_eq!(agent.list().await.unwrap().len(), 1);

    let rec = agent
        .recover(FaultId::new("pause1").unwrap())
        .await
        .unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].outcome, Recovered::Removed);
    // SIGCONT is delivered asynchronously; the process must be back to sleeping soon.
    assert!(
        wait_until(Duration::from_secs(5), || s.state() == 'S').is_some(),
        "recovered process must run again"
    );
    assert!(agent.list().await.unwrap().is_empty());
    // Recovering again is success with nothing to do.
    assert!(
        agent
            .recover(FaultId::new("pause1").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn kill_sends_the_signal_and_leaves_nothing_active() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let mut s = Proc::sleep();
    let mut other = Proc::sleep();
    agent
        .apply(req(
            "kill1",
            r#"{"processKill":{"signal":"SIGTERM"}}"#,
            vec![LocalTarget::Pid(s.pid())],
        ))
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || s.exited()).is_some(),
        "killed process still runs"
    );
    assert!(!other.exited(), "an untargeted process was hit");
    // Instant: nothing to recover (and nothing journaled).
    assert!(agent.list().await.unwrap().is_empty());
    // The same request again is idempotent (no second kill), a different one conflicts.
    agent
        .apply(req(
            "kill1",
            r#"{"processKill":{"signal":"SIGTERM"}}"#,
            vec![LocalTarget::Pid(s.pid())],
        ))
        .await
        .unwrap();
    let e = agent
        .apply(req(
            "kill1",
            r#"{"processKill":{}}"#,
            vec![LocalTarget::Pid(other.pid())],
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, AgentError::Conflict(_)), "{e:?}");
    assert!(!other.exited());
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_sigkill_request_returns_once_its_processes_have_exited() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    for round in 0..5 {
        // Not reaped until the end: the killed process stays a zombie, which has exited.
        let s = Proc::sleep();
        agent
            .apply(req(
                &format!("sigkill{round}"),
                r#"{"processKill":{}}"#,
                vec![LocalTarget::Pid(s.pid())],
            ))
            .await
            .unwrap();
        // Read at once, no waiting: the fact-check that follows an apply reads the same.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", s.pid())).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        assert!(
            matches!(state, None | Some('Z' | 'X')),
            "round {round}: apply returned while the killed process was still in state {state:?}"
        );
    }
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn recovering_a_pause_whose_process_died_is_target_gone() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let mut s = Proc::sleep();
    agent
        .apply(req(
            "gone1",
            r#"{"processPause":{}}"#,
            vec![LocalTarget::Pid(s.pid())],
        ))
        .await
        .unwrap();
    s.0.kill().unwrap();
    s.0.wait().unwrap();
    let rec = agent.recover(FaultId::new("gone1").unwrap()).await.unwrap();
    assert!(
        matches!(rec[0].outcome, Recovered::TargetGone(_)),
        "{:?}",
        rec[0].outcome
    );
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn freezer_pause_freezes_the_v1_cgroup_and_thaws_it() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let cg = FreezerCgroup::create("pause");
    let s = Proc::sleep();
    cg.add(s.pid());
    agent
        .apply(req(
            "frz1",
            r#"{"processPause":{"method":"freezer"}}"#,
            vec![LocalTarget::Pid(s.pid())],
        ))
        .await
        .unwrap();
    assert_eq!(cg.state(), "FROZEN");
    // A frozen task is not runnable; /proc shows it as `D` (in the refrigerator).
    let frozen_state = s.state();
    assert_ne!(frozen_state, 'R');
    agent.recover(FaultId::new("frz1").unwrap()).await.unwrap();
    assert_eq!(cg.state(), "THAWED");
    assert!(wait_until(Duration::from_secs(5), || s.state() == 'S').is_some());
    println!("state while frozen: {frozen_state}");
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_pause_request_returns_once_every_process_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let sleepers: Vec<Proc> = (0..20).map(|_| Proc::sleep()).collect();
    agent
        .apply(req(
            "pause20",
            r#"{"processPause":{}}"#,
            sleepers.iter().map(|s| LocalTarget::Pid(s.pid())).collect(),
        ))
        .await
        .unwrap();
    // No waiting here: the agent waits for the kernel once for the whole request.
    let states: Vec<char> = sleepers.iter().map(Proc::state).collect();
    assert!(
        states.iter().all(|&c| c == 'T'),
        "states right after apply: {states:?}"
    );
    agent
        .recover(FaultId::new("pause20").unwrap())
        .await
        .unwrap();
    for s in &sleepers {
        assert!(s.reaches('S'), "pid {} must run again", s.pid());
    }
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_freezer_pause_returns_once_every_cgroup_is_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let cgroups: Vec<FreezerCgroup> = (0..20)
        .map(|i| FreezerCgroup::create(&format!("many{i}")))
        .collect();
    let sleepers: Vec<Proc> = cgroups
        .iter()
        .map(|cg| {
            let s = Proc::sleep();
            cg.add(s.pid());
            s
        })
        .collect();
    let started = std::time::Instant::now();
    agent
        .apply(req(
            "frz20",
            r#"{"processPause":{"method":"freezer"}}"#,
            sleepers.iter().map(|s| LocalTarget::Pid(s.pid())).collect(),
        ))
        .await
        .unwrap();
    let took = started.elapsed();
    // No waiting here: the agent waits for the kernel once for the whole request.
    let states: Vec<String> = cgroups.iter().map(FreezerCgroup::state).collect();
    assert!(
        states.iter().all(|s| s == "FROZEN"),
        "states right after apply: {states:?}"
    );
    println!("20 cgroups frozen in {took:?}");
    agent.recover(FaultId::new("frz20").unwrap()).await.unwrap();
    for (cg, s) in cgroups.iter().zip(&sleepers) {
        assert_eq!(cg.state(), "THAWED");
        assert!(s.reaches('S'), "pid {} must run again", s.pid());
    }
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_over_several_targets_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let cg = FreezerCgroup::create("aon");
    let inside = Proc::sleep();
    cg.add(inside.pid());
    // In the root freezer cgroup, which can never be frozen: the second apply fails, and
    // the third is never tried (journaled with the others, then settled).
    let outside = Proc::sleep();
    let e = agent
        .apply(req(
            "aon1",
            r#"{"processPause":{"method":"freezer"}}"#,
            vec![
                LocalTarget::Pid(inside.pid()),
                LocalTarget::Pid(outside.pid()),
                LocalTarget::Pid(inside.pid()),
            ],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            AgentError::Apply {
                source: FaultError::Unsupported { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(cg.state(), "THAWED", "the first target must be rolled back");
    assert!(agent.list().await.unwrap().is_empty());

    // A target that does not exist: refused before anything is applied.
    let e = agent
        .apply(req(
            "aon2",
            r#"{"processPause":{}}"#,
            vec![
                LocalTarget::Pid(inside.pid()),
                LocalTarget::Pid(u32::MAX - 1),
            ],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            AgentError::Target {
                index: 1,
                source: FaultError::TargetNotFound(_)
            }
        ),
        "{e:?}"
    );
    assert_eq!(inside.state(), 'S');
    agent.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_recovers_everything_and_a_second_agent_cannot_share_the_dir() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path()).await.unwrap();
    let e = Agent::open(dir.path()).await.unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
    let (a, b) = (Proc::sleep(), Proc::sleep());
    agent
        .apply(req(
            "sd1",
            r#"{"processPause":{}}"#,
            vec![LocalTarget::Pid(a.pid()), LocalTarget::Pid(b.pid())],
        ))
        .await
        .unwrap();
    assert!(a.reaches('T') && b.reaches('T'));
    assert_eq!(agent.shutdown().await.unwrap().len(), 2);
    assert!(
        wait_until(Duration::from_secs(5), || (a.state(), b.state())
            == ('S', 'S'))
        .is_some()
    );
    // The dir is free again, and the journal is empty.
    let again = Agent::open(dir.path()).await.unwrap();
    assert!(again.startup_report().recovered.is_empty());
    again.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_journal_left_by_a_killed_run_is_recovered_by_recover_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let sleepers: Vec<Proc> = (0..3).map(|_| Proc::sleep()).collect();
    {
        let agent = Agent::open(dir.path()).await.unwrap();
        for (id, targets) in [("left1", &sleepers[..1]), ("left2", &sleepers[1..])] {
            agent
                .apply(req(
                    id,
                    r#"{"processPause":{}}"#,
                    targets.iter().map(|s| LocalTarget::Pid(s.pid())).collect(),
                ))
                .await
                .unwrap();
        }
        // Dropping without shutdown: the faults stay, as after `kill -9`.
    }
    assert!(sleepers.iter().all(|s| s.reaches('T')));
    let report = recover_when_unlocked(dir.path()).await;
    assert_eq!(report.recovered.len(), 3, "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    for s in &sleepers {
        assert!(wait_until(Duration::from_secs(5), || s.state() == 'S').is_some());
    }
    // All three were journaled recovered: a second start finds nothing to do.
    let again = recover_when_unlocked(dir.path()).await;
    assert!(
        again.recovered.is_empty() && again.failed.is_empty(),
        "{again:?}"
    );
}

/// `recover_state_dir`, retried while the previous agent's thread still holds the lock
/// (it releases it shortly after the last handle goes).
async fn recover_when_unlocked(dir: &std::path::Path) -> faultline_agent::agent::StartupReport {
    for _ in 0..500 {
        if let Ok(r) = faultline_agent::recover_state_dir(dir).await {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("recover_state_dir: {} stayed locked", dir.display());
}
