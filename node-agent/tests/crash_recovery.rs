//! The real `faultline-agent` binary: crash recovery after `kill -9`, lease lapse, and
//! SIGTERM recovering everything.

mod support;

use std::time::{Duration, Instant};

use faultline_agent::protocol::ApplyRequest;
use faultline_agent::{AgentClient, FaultId};
use faultline_spec::LocalTarget;
use faultline_test_support::{Proc, wait_until};
use nix::sys::signal::Signal;
use support::AgentProc;

const TOKEN: &str = "crash-test-token";

struct Setup {
    dir: tempfile::TempDir,
    token_file: std::path::PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    Setup { dir, token_file }
}

impl Setup {
    fn state(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    fn start(&self, port: u16) -> AgentProc {
        AgentProc::start(&self.state(), &self.token_file, port)
    }
}

fn pause(id: &str, pids: &[u32], lease_seconds: u64) -> ApplyRequest {
    ApplyRequest {
        id: FaultId::new(id).unwrap(),
        kind: serde_json::from_str(r#"{"processPause":{}}"#).unwrap(),
        targets: pids.iter().map(|p| LocalTarget::Pid(*p)).collect(),
        lease_seconds,
    }
}

#[tokio::test]
async fn faults_left_by_a_killed_agent_are_recovered_within_1s_of_restart() {
    let s = setup();
    let agent = s.start(0);
    // The restart below must come back on this port, the one clients know: free only from
    // the kill to the restart.
    let port = agent.port;
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let (a, b) = (Proc::sleep(), Proc::sleep());
    client
        .apply(&pause("crash1", &[a.pid(), b.pid()], 60))
        .await
        .unwrap();
    assert!(a.reaches('T') && b.reaches('T'));

    agent.signal(Signal::SIGKILL);
    drop(agent);
    // The fault outlived the agent process, as it must until a new agent starts.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!((a.state(), b.state()), ('T', 'T'));

    let started = Instant::now();
    let agent = s.start(port);
    let took = wait_until(Duration::from_secs(10), || {
        a.state() == 'S' && b.state() == 'S'
    })
    .map(|_| started.elapsed());
    let took = took.expect("paused processes were not resumed after restart");
    println!("crash recovery: processes running again {took:?} after the agent was started");
    assert!(took < Duration::from_secs(3), "took {took:?} (goal 1 s)");
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    assert!(client.list().await.unwrap().faults.is_empty());
    let metrics = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap()
        .get(format!("{}/metrics", agent.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"faultline_agent_recoveries_total{reason="startup"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_lapsed_lease_is_recovered_by_the_agent_itself() {
    let s = setup();
    let agent = s.start(0);
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let p = Proc::sleep();
    let applied = Instant::now();
    let resp = client.apply(&pause("lease1", &[p.pid()], 2)).await.unwrap();
    let lease_until = resp.records[0].lease_until;
    assert!(p.reaches('T'));
    let resumed =
        wait_until(Duration::from_secs(15), || p.state() == 'S').map(|_| applied.elapsed());
    let resumed = resumed.expect("lease lapsed but the process was not resumed");
    let after_lease = (chrono::Utc::now() - lease_until)
        .to_std()
        .unwrap_or_default();
    println!("lease 2 s: resumed {resumed:?} after apply, ~{after_lease:?} after the lease ended");
    assert!(
        resumed >= Duration::from_millis(1900),
        "recovered before the lease ended: {resumed:?}"
    );
    assert!(
        resumed < Duration::from_secs(5),
        "took {resumed:?} (goal lease + 1 s)"
    );
    assert!(client.list().await.unwrap().faults.is_empty());
    let metrics = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap()
        .get(format!("{}/metrics", agent.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"faultline_agent_lease_lapses_total{kind="processPause"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_renewed_lease_holds_past_its_first_expiry() {
    let s = setup();
    let agent = s.start(0);
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let p = Proc::sleep();
    client.apply(&pause("renew1", &[p.pid()], 2)).await.unwrap();
    let r = client
        .renew(&FaultId::new("renew1").unwrap(), 30)
        .await
        .unwrap();
    assert_eq!(r.renewed, vec![FaultId::new("renew1-0").unwrap()]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        p.state(),
        'T',
        "renewed fault was recovered at its old expiry"
    );
    let rec = client
        .recover(&FaultId::new("renew1").unwrap())
        .await
        .unwrap();
    assert_eq!(rec.recovered.len(), 1);
    assert!(wait_until(Duration::from_secs(5), || p.state() == 'S').is_some());
}

#[tokio::test]
async fn sigterm_recovers_everything_then_exits_0() {
    let s = setup();
    let mut agent = s.start(0);
    let client = AgentClient::new(agent.url(), Some(TOKEN.into())).unwrap();
    let (a, b) = (Proc::sleep(), Proc::sleep());
    client.apply(&pause("term1", &[a.pid()], 60)).await.unwrap();
    client.apply(&pause("term2", &[b.pid()], 60)).await.unwrap();
    agent.signal(Signal::SIGTERM);
    let mut status = None;
    wait_until(Duration::from_secs(15), || {
        status = agent.proc.0.try_wait().unwrap();
        status.is_some()
    });
    let status = status.expect("agent did not exit after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        wait_until(Duration::from_secs(5), || a.state() == 'S'
            && b.state() == 'S')
        .is_some()
    );
    // Nothing left for the next start.
    let next = s.start(0);
    let client = AgentClient::new(next.url(), Some(TOKEN.into())).unwrap();
    assert!(client.list().await.unwrap().faults.is_empty());
}
