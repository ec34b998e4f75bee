//! P14: replica failover. Three `faultline serve` replicas on one real PostgreSQL 15 and
//! one node agent (in this process); each trial starts a run through one replica that
//! pauses a `sleep` process (SIGSTOP), kills that replica with SIGKILL mid-fault, and
//! times (a) until the pause is removed (the process runs again) and (b) until the run
//! shows its `error: replica lost` verdict through another replica. The killed replica
//! is started again (a new owner) for the next trial. The goal: p50 and p99 at
//! most the lease TTL + 1 s. 20 trials (5 under `--quick`); about 2 minutes.
//!
//! Run with `cargo bench -p faultline --bench failover` (or `cargo test --bench failover`
//! for a debug build: the figures are timer-bound, not CPU-bound).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline_agent::agent::Agent;
use faultline_agent::daemon;
use faultline_test_support::bench::{percentile, report};
use faultline_test_support::peers::start_postgres;
use faultline_test_support::{Proc, client, listener, proc_state, sleeper, wait_stopped};

const TOKEN: &str = "bench-operator-token-0123";
const AGENT_TOKEN: &str = "bench-agent-token-012345";
/// The default `storeLeaseTtl`.
const TTL_S: f64 = 5.0;

fn replica(dir: &Path, name: &str, url: &str, agent: &str, agent_token: &Path) -> (Proc, String) {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("operator:{TOKEN}\n")).unwrap();
    let state = dir.join(name);
    std::fs::create_dir_all(&state).unwrap();
    let mut p = Proc(
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["serve", "--listen", "127.0.0.1:0", "--lease", "60s"])
            .arg("--state-dir")
            .arg(&state)
            .arg("--tokens-file")
            .arg(&tokens)
            .args(["--agent", agent])
            .arg("--agent-token-file")
            .arg(agent_token)
            .args(["--store", url, "--store-lease-ttl", &format!("{TTL_S}s")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let port = p.wait_listening();
    (p, format!("http://127.0.0.1:{port}"))
}

fn experiment(pid: u32) -> String {
    format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: failover }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - name: pause\n      processPause: {{}}\n      duration: 5m\n"
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(pg) = start_postgres() else {
        return;
    };
    let url = pg.create_database("failover");
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::open(dir.path().join("agent")).await.unwrap();
    let l = listener();
    let agent_url = format!("http://{}", l.local_addr().unwrap());
    let server = daemon::serve(agent, daemon::Auth::token(AGENT_TOKEN).unwrap(), l).unwrap();
    tokio::spawn(server);
    let agent_token = dir.path().join("agent-token");
    std::fs::write(&agent_token, AGENT_TOKEN).unwrap();

    let mut replicas: Vec<(Proc, String)> = (0..3)
        .map(|i| replica(dir.path(), &format!("r{i}"), &url, &agent_url, &agent_token))
        .collect();
    let trials = report::reps(20, 5);
    let (mut removed, mut adopted) = (Vec::new(), Vec::new());
    for trial in 0..trials {
        let k = trial % 3;
        let witness = (k + 1) % 3;
        let target = sleeper();
        let res = client()
            .post(format!("{}/api/v1/runs", replicas[k].1))
            .bearer_auth(TOKEN)
            .body(experiment(target.0.id()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            wait_stopped(target.0.id()).await,
            "the pause never took effect"
        );
        let killed = Instant::now();
        replicas[k].0.0.kill().unwrap();
        replicas[k].0.0.wait().unwrap();
        let mut gone = None;
        let mut ended = None;
        while gone.is_none() || ended.is_none() {
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "trial {trial}: no failover in 60 s"
            );
            if gone.is_none() && proc_state(target.0.id()) != 'T' {
                gone = Some(killed.elapsed());
            }
            if ended.is_none() {
                let r: serde_json::Value = client()
                    .get(format!("{}/api/v1/runs/{id}", replicas[witness].1))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if r["verdict"] == "error" {
                    assert!(
                        r["reason"]
                            .as_str()
                            .unwrap_or("")
                            .starts_with("replica lost"),
                        "{r}"
                    );
                    ended = Some(killed.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (g, e) = (gone.unwrap().as_secs_f64(), ended.unwrap().as_secs_f64());
        println!(
            "trial {trial}: fault removed {g:.2} s, run adopted and ended {e:.2} s after the kill"
        );
        removed.push(g);
        adopted.push(e);
        replicas[k] = replica(
            dir.path(),
            &format!("r{k}-{trial}"),
            &url,
            &agent_url,
            &agent_token,
        );
    }
    for (name, label, samples) in [
        (
            "removed",
            "kill -9 of the driving replica -> its fault removed (s)",
            &removed,
        ),
        (
            "adopted",
            "kill -9 of the driving replica -> run ended `replica lost` (s)",
            &adopted,
        ),
    ] {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "{label}: p50 {:.2} s, p99 {:.2} s over {} trials (goal <= TTL {TTL_S} s + 1 s)",
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0),
            sorted.len()
        );
        report::emit("P14", name, label, "s", samples);
    }
}
