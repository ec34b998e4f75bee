//! `faultline serve` replicas sharing one PostgreSQL database and one real node agent
//! (in this process, pausing `sleep` processes with SIGSTOP): runs started through every
//! replica, any replica answering for any run, and a replica killed with SIGKILL mid-fault
//! whose run another replica adopts — the fault proven removed, the run ended
//! `error: replica lost`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline::domain::RunState;
use faultline_agent::agent::Agent;
use faultline_agent::daemon;
use faultline_test_support::fakes::receiver::Receiver;
use faultline_test_support::{
    Proc, client, empty_http_server, listener, proc_state, sleeper, wait_stopped,
};
use serde_json::Value;

use super::database;
use crate::support::{OPERATOR, VIEWER, pause_yaml, viewer_json, wait_verdict};

const AGENT_TOKEN: &str = "agent-token-0123456789";
/// The replicas' lease on the runs they drive.
pub const STORE_TTL: &str = "3s";
/// The agent's own lease on each fault: long, so a fault removed soon after the kill was
/// removed by the adopting replica, not by the agent's lease running out.
const FAULT_LEASE: &str = "60s";

/// A `faultline serve` child process on a port of its own.
pub struct Replica {
    pub proc: Proc,
    pub base: String,
}

/// The node agent every replica sends its faults to, in this process.
pub struct SharedAgent {
    pub url: String,
    pub token_file: std::path::PathBuf,
    _server: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

pub async fn shared_agent() -> SharedAgent {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path().join("agent")).await.unwrap();
    let l = listener();
    let url = format!("http://{}", l.local_addr().unwrap());
    let server = daemon::serve(agent, daemon::Auth::token(AGENT_TOKEN).unwrap(), l).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    let token_file = dir.path().join("agent-token");
    std::fs::write(&token_file, AGENT_TOKEN).unwrap();
    SharedAgent {
        url,
        token_file,
        _server: handle,
        _dir: dir,
    }
}

/// Starts replica `name` of the service on the database at `store`.
pub fn replica(
    dir: &Path,
    name: &str,
    store: &str,
    agent: &SharedAgent,
    extra: &[&str],
) -> Replica {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("viewer:{VIEWER}\noperator:{OPERATOR}\n")).unwrap();
    let state = dir.join(name);
    std::fs::create_dir_all(&state).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let mut p = Proc(
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["serve", "--listen", "127.0.0.1:0", "--lease", FAULT_LEASE])
            .arg("--state-dir")
            .arg(&state)
            .arg("--tokens-file")
            .arg(&tokens)
            .args(["--agent", &agent.url])
            .arg("--agent-token-file")
            .arg(&agent.token_file)
            .args(["--store", store, "--store-lease-ttl", STORE_TTL])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let port = p.wait_listening();
    Replica {
        proc: p,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn start_run(base: &str, yaml: String) -> String {
    let res = client()
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_run_is_adopted_its_fault_removed_and_the_others_go_on() {
    let Some((_pg, url)) = database("replicas") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = shared_agent().await;
    let (_web, web_port) = empty_http_server();
    // Verdicts go to a signed webhook: the adopted run's end must be sent once too.
    let hooks = Receiver::start(Vec::new(), Box::new(|_| None)).await;
    let notify_cfg = dir.path().join("notify.yaml");
    std::fs::write(
        &notify_cfg,
        format!(
            "webhook:\n  secret: notify-signing-secret-0001\nroutes:\n  - webhook: {}/verdicts\n    on: [passed, failed, aborted, error]\n",
            hooks.url
        ),
    )
    .unwrap();
    let extra = ["--notify-config", notify_cfg.to_str().unwrap()];
    let mut replicas: Vec<Replica> = ["a", "b", "c"]
        .iter()
        .map(|n| replica(dir.path(), n, &url, &agent, &extra))
        .collect();
    // One run through each replica, each pausing its own process for 5 minutes.
    let targets = [sleeper(), sleeper(), sleeper()];
    let mut runs = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        let yaml = pause_yaml(&format!("ha-{i}"), targets[i].0.id(), web_port, "5m");
        runs.push(start_run(&r.base, yaml).await);
    }
    for t in &targets {
        assert!(
            wait_stopped(t.0.id()).await,
            "a run's pause never took effect"
        );
    }
    // Any replica answers for any run.
    for r in &replicas {
        let listed = viewer_json(format!("{}/api/v1/runs?limit=10", r.base)).await;
        let n = listed["runs"].as_array().map_or(0, Vec::len);
        assert_eq!(n, 3, "{}: {listed}", r.base);
    }

    // SIGKILL the replica driving run 0, mid-fault: nothing of its shutdown path runs.
    let killed = Instant::now();
    replicas[0].proc.0.kill().unwrap();
    replicas[0].proc.0.wait().unwrap();
    assert_eq!(
        proc_state(targets[0].0.id()),
        'T',
        "the pause outlives the kill"
    );
    let deadline = killed + Duration::from_secs(30);
    while proc_state(targets[0].0.id()) == 'T' {
        assert!(
            Instant::now() < deadline,
            "no replica removed the killed replica's fault; logs in {}",
            dir.path().display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let removed_after = killed.elapsed();
    eprintln!(
        "killed replica's fault removed {removed_after:?} after the kill (store lease TTL {STORE_TTL})"
    );
    assert!(
        removed_after < Duration::from_secs(20),
        "removed after {removed_after:?}: that is the agent's own {FAULT_LEASE} lease, not an adoption"
    );
    let run0 = wait_verdict(&replicas[1].base, &runs[0]).await;
    assert_eq!(run0["verdict"], "error", "{run0}");
    let reason = run0["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("replica lost"), "{reason}");
    let events = viewer_json(format!(
        "{}/api/v1/runs/{}/report.json",
        replicas[2].base, runs[0]
    ))
    .await;
    assert!(
        events.to_string().contains("FaultRecovered")
            || events.to_string().contains("faultRecovered"),
        "the adopter recorded the recovery: {events}"
    );

    // The adopter told the notification route of the run's end, once.
    let sent_for = |run: &str| {
        hooks
            .got()
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(run))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent_for(&runs[0]) == 0 {
        assert!(
            Instant::now() < deadline,
            "the adopted run's verdict was never sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The other replicas' runs were not touched: still paused, still live.
    for i in 1..3 {
        assert_eq!(proc_state(targets[i].0.id()), 'T', "run {i} lost its fault");
        let r = viewer_json(format!("{}/api/v1/runs/{}", replicas[2].base, runs[i])).await;
        let state = r["verdict"].as_str().and_then(RunState::parse);
        assert!(
            state.is_some_and(|s| !s.is_terminal()),
            "run {i} ended: {r}"
        );
    }
    // Run 1 is aborted through the replica driving it; run 2 by the emergency stop
    // engaged through replica 1, which another replica (c) drives.
    let res = client()
        .post(format!(
            "{}/api/v1/runs/{}/abort",
            replicas[1].base, runs[1]
        ))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    let state_of_2 = viewer_json(format!("{}/api/v1/runs/{}", replicas[2].base, runs[2])).await;
    assert!(
        res.status().is_success(),
        "abort: {} (run 2: {})",
        res.status(),
        state_of_2["reason"]
    );
    let res = client()
        .post(format!("{}/api/v1/emergency-stop", replicas[1].base))
        .bearer_auth(OPERATOR)
        .body(r#"{"reason": "drill"}"#)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "stop: {}", res.status());
    for i in 1..3 {
        let r = wait_verdict(&replicas[2].base, &runs[i]).await;
        assert_eq!(r["verdict"], "aborted", "{r}");
        assert_ne!(
            proc_state(targets[i].0.id()),
            'T',
            "run {i}'s pause outlived its run"
        );
    }
    let r = viewer_json(format!("{}/api/v1/runs/{}", replicas[1].base, runs[2])).await;
    assert!(
        r["reason"]
            .as_str()
            .unwrap_or("")
            .contains("emergency stop: drill"),
        "run 2 ended for another reason: {}",
        r["reason"]
    );
    // Every replica refuses new runs while the stop is engaged.
    let refused = client()
        .post(format!("{}/api/v1/runs", replicas[2].base))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("after-stop", targets[0].0.id(), web_port, "1s"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "started through the stop"
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // room for a duplicate to show
    for run in &runs {
        assert_eq!(
            sent_for(run),
            1,
            "run {run}'s verdict sent {} times",
            sent_for(run)
        );
    }
    drop(replicas.drain(..));
}

/// PostgreSQL restarted while a replica drives a run mid-fault, down for `outage`: the
/// run goes on to a verdict or ends `error` with the reason; its fault is removed either
/// way, and its events are whole (numbered 1..n, no gap, nothing half-written). Returns
/// the run as the API shows it.
async fn database_restart_mid_run(db: &str, outage: Duration) -> Value {
    let Some((pg, url)) = database(db) else {
        return Value::Null;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = shared_agent().await;
    let (_web, web_port) = empty_http_server();
    let r = replica(dir.path(), "a", &url, &agent, &[]);
    let target = sleeper();
    let name = db.replace('_', "-");
    let id = start_run(&r.base, pause_yaml(&name, target.0.id(), web_port, "4s")).await;
    assert!(
        wait_stopped(target.0.id()).await,
        "the pause never took effect"
    );
    pg.stop();
    tokio::time::sleep(outage).await;
    pg.start();
    let run = wait_verdict(&r.base, &id).await;
    let verdict = run["verdict"].as_str().unwrap_or_default().to_string();
    assert!(
        verdict == "passed"
            || (verdict == "error" && !run["reason"].as_str().unwrap_or("").is_empty()),
        "{run}"
    );
    assert_ne!(proc_state(target.0.id()), 'T', "the pause outlived the run");
    let rows = pg.psql(
        db,
        &format!(
            "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM events WHERE run_id = '{id}'"
        ),
    );
    let seqs: Vec<u64> = rows.split(',').map(|s| s.parse().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "events have a gap"
    );
    eprintln!(
        "database down {outage:?} mid-run: {verdict} ({})",
        run["reason"]
    );
    run
}

/// A short restart (1.5 s): the store's calls wait for the database, the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_database_restart_mid_run_is_ridden_out() {
    let run = database_restart_mid_run("pg_restart_short", Duration::from_millis(1500)).await;
    if !run.is_null() {
        assert_eq!(run["verdict"], "passed", "{run}");
    }
}

/// A long outage (25 s: past the store's 10 s patience even for a write that starts when
/// the 4 s pause ends): the run stops, its fault is
/// recovered, and once the database is back the run is ended `error` saying the store
/// failed, not left looking live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_database_outage_mid_run_ends_it_error_with_the_reason() {
    let run = database_restart_mid_run("pg_restart_long", Duration::from_secs(25)).await;
    if !run.is_null() {
        assert_eq!(run["verdict"], "error", "{run}");
        let reason = run["reason"].as_str().unwrap_or_default();
        // Ended by the engine itself once the store answered again ("store: ... failed"),
        // or by the settling after it ("store unreachable: ...").
        assert!(reason.starts_with("store"), "{reason}");
    }
}
