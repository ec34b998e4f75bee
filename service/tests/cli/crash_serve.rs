//! `faultline serve` killed with SIGKILL mid-run (the R2 case of the reliability suite): the
//! fault it applied is still in the in-process agent's journal, so the next `serve` over the
//! same state dir removes it as it starts — before it serves anything — confirms exactly the
//! fault the store recorded as active recovered (recording its outcome on the run), and
//! marks the run `error` with the reason, never leaving it "running".

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;
use faultline_test_support::{Proc, client, empty_http_server, proc_state, sleeper, wait_stopped};
use serde_json::Value;

/// `faultline serve` on `port` (0: a port of its own), and the port it listens on.
fn serve(state: &std::path::Path, port: u16, tokens: &std::path::Path) -> (Proc, u16) {
    let mut p = Proc(
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--lease",
                "60s",
            ])
            .arg("--state-dir")
            .arg(state)
            .arg("--tokens-file")
            .arg(tokens)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let port = p.wait_listening();
    (p, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_leaves_no_fault_and_no_running_run_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("viewer:{VIEWER}\noperator:{OPERATOR}\n")).unwrap();
    let state = dir.path().join("state");
    let (_web, web_port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();

    let (mut first, port) = serve(&state, 0, &tokens);
    let base = format!("http://127.0.0.1:{port}");
    let res = client()
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("crash-me", pid, web_port, "5m"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(wait_stopped(pid).await, "never paused");

    // SIGKILL: no shutdown path runs; the pause stays, the run is stored mid-way.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        proc_state(pid),
        'T',
        "the pause should survive the kill (nothing recovered it yet)"
    );

    let restarted = Instant::now();
    // The same port, the one clients know: free only from the kill to here.
    let _second = serve(&state, port, &tokens);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(pid) == 'T' {
        assert!(
            Instant::now() < deadline,
            "the restarted service did not recover the pause"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("restart -> pause recovered in {:?}", restarted.elapsed());
    let run: Value = viewer_json(format!("{base}/api/v1/runs/{id}")).await;
    assert_eq!(run["verdict"], "error", "{run}");
    assert_eq!(run["reason"], "service restarted mid-run");
    // The fault the store recorded as active before applying it was confirmed recovered
    // through the in-process agent, its outcome recorded before the run was ended — even
    // when the kill came between the apply and its `faultApplied` event.
    let events = run["events"].as_array().expect("events");
    let recovered = events
        .iter()
        .position(|e| e["type"] == "faultRecovered")
        .unwrap_or_else(|| panic!("no faultRecovered: {run}"));
    assert_eq!(events[recovered]["outcome"], "removed", "{run}");
    let fault = events[recovered]["fault"].as_str().unwrap();
    assert!(fault.starts_with(&format!("{id}-f1-")), "{run}");
    for applied in events.iter().filter(|e| e["type"] == "faultApplied") {
        assert_eq!(applied["fault"], fault, "{run}");
    }
    assert!(
        events[recovered + 1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("confirmed recovered through in-process")),
        "{run}"
    );
    let ended = events
        .iter()
        .position(|e| e["type"] == "stateChanged" && e["to"] == "error")
        .unwrap();
    assert!(
        recovered < ended,
        "confirmed before the run is ended: {run}"
    );
    // And the restarted service runs new experiments as usual.
    let res = client()
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("after-crash", pid, web_port, "1s"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
}
