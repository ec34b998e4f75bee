//! `faultline run` of a whole experiment with an HTTP fault, against a real server: the
//! target namespace (b) runs Python's http.server on 10.77.0.2:8080, and `faultline run`
//! itself runs in the client namespace (a, `ip netns exec`), so its HTTP checks are real
//! clients of that server. The fault aborts `/api/` with 503 for 2 s. The run must end
//! `failed`, for the reason a user runs it: the `/api/` availability check holds before
//! and after but sees the aborts during the fault window (its share of good answers falls
//! far below `>= 0.99`); `/web` answers before and after, and a client making fresh
//! connections to `/web` all along gets the server's own answers; the report shows the
//! fault verified with the proxy's counts; and nothing of the fault is left in b (nft
//! tables, ip rules, the proxy listener).
//!
//! `web-untouched` is not judged `during`: its probe keeps its connection alive, and the
//! injection cuts connections open before it (so they reconnect through the proxy), which
//! costs that probe one failed request. The fresh-connection client checks the window.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use faultline_test_support::{NetnsPair, sh};

use crate::run_report::{
    assert_no_tables_left, assert_one_fault_verified, output_text, the_report,
};

/// The Python server in b; killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The status of `curl http://10.77.0.2:8080<path>` from a (0 when none came).
fn status(pair: &NetnsPair, path: &str) -> u16 {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.a,
            "curl",
            "-s",
            "-m",
            "2",
            "-o",
            "/dev/null",
        ])
        .args(["-w", "%{http_code}"])
        .arg(format!("http://10.77.0.2:8080{path}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// `/web` from the namespace `a` on a fresh connection: "STATUS real" when the server
/// itself answered (its `X-Server` header), "STATUS" otherwise.
fn curl_web(a: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            a,
            "curl",
            "-s",
            "-m",
            "2",
            "-D",
            "-",
            "-o",
            "/dev/null",
        ])
        .arg("http://10.77.0.2:8080/web")
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).unwrap_or("0").to_string();
    if head.contains("x-server: real") {
        format!("{status} real")
    } else {
        status
    }
}

fn server(pair: &NetnsPair) -> Server {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../node-agent/tests/http/server.py"
    );
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.b,
            "python3",
            script,
            "10.77.0.2",
            "8080",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(pair, "/ready") != 200 {
        assert!(Instant::now() < deadline, "the HTTP server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

const SPEC: &str = r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: api-outage }
spec:
  target: { local: { netns: TARGET } }
  steadyState:
    - name: api-available
      http: { url: "http://10.77.0.2:8080/api/orders", every: 100ms, timeout: 1s }
      expect: ">= 0.99"
    - name: web-untouched
      http: { url: "http://10.77.0.2:8080/web", every: 100ms, timeout: 1s }
      expect: ">= 0.99"
      phases: [before, after]
  steps:
    - name: api-503
      httpAbort: { port: 8080, match: { path: /api/ }, code: 503 }
      duration: 2s
"#;

#[test]
fn faultline_run_with_an_http_abort_verifies_reports_and_removes_it() {
    let pair = NetnsPair::new("runhttp");
    let _server = server(&pair);
    let state = tempfile::tempdir().unwrap();
    let spec = state.path().join("http.yaml");
    std::fs::write(&spec, SPEC.replace("TARGET", &pair.b)).unwrap();

    // A client on /web all along, a fresh connection each time: (status, took) of each.
    let stop = Arc::new(AtomicBool::new(false));
    let web = {
        let (stop, a) = (stop.clone(), pair.a.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = chrono::Utc::now();
                let answer = curl_web(&a);
                seen.push((sent, chrono::Utc::now(), answer));
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        })
    };
    let out = Command::new("ip")
        .args(["netns", "exec", &pair.a, env!("CARGO_BIN_EXE_faultline")])
        .args(["run", "--state-dir"])
        .arg(state.path().join("state"))
        .arg(&spec)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = output_text(&out);
    stop.store(true, Ordering::Relaxed);
    let web = web.join().unwrap();
    // Exit code 1: the verdict `failed`, the check having seen the aborts.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("verdict: failed"), "{text}");

    // Nothing of the fault is left in b, and the server answers /api/ itself again.
    assert_no_tables_left(&pair.b);
    for family in ["-4", "-6"] {
        let rules = sh(&format!("ip {family} -n {} rule show", pair.b));
        assert!(!rules.contains("fwmark 0xfa2"), "left behind: {rules}");
    }
    let listeners = sh(&format!("ip netns exec {} ss -Htln", pair.b));
    assert_eq!(
        listeners.lines().count(),
        1,
        "only the server listens: {listeners}"
    );
    assert_eq!(status(&pair, "/api/orders"), 200);

    // The report: the fault verified with the proxy's counts, every check passed.
    let (run_dir, report) = the_report(&state.path().join("state"));
    assert_eq!(report["verdict"], "failed", "{report:#}");
    assert!(
        report["reason"].as_str().unwrap().contains("api-available"),
        "{report:#}"
    );
    let check = |name: &str, phase: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name && c["phase"] == phase)
            .unwrap_or_else(|| panic!("no {name} {phase}: {report:#}"))
            .clone()
    };
    assert_eq!(check("api-available", "before")["ok"], true);
    let during = check("api-available", "during");
    assert_eq!(during["ok"], false, "{during:#}");
    assert!(
        during["min"].as_f64().unwrap() < 0.5,
        "the aborts seen: {during:#}"
    );
    assert_eq!(check("api-available", "after")["ok"], true, "{report:#}");
    assert_eq!(check("web-untouched", "after")["ok"], true, "{report:#}");
    assert_one_fault_verified(
        &report,
        "httpAbort",
        &[
            "sends the port to the proxy",
            "requests aborted since apply",
        ],
    );
    // The fresh /web requests made wholly while the fault held (from its verification to
    // the run's turn to recovering; ~150 ms apart: each is a new `ip netns exec curl`)
    // all got the server's own answer. One racing the injection's cut or the recovery
    // may be reset, as docs/http-faults.md says.
    let events = report["events"].as_array().unwrap();
    let at = |what: &dyn Fn(&serde_json::Value) -> bool| {
        let e = events
            .iter()
            .find(|e| what(e))
            .unwrap_or_else(|| panic!("no such event: {report:#}"));
        chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let started = at(&|e| e["type"] == "faultVerified");
    let ended = at(&|e| e["type"] == "stateChanged" && e["to"] == "recovering");
    let inside: Vec<_> = web
        .iter()
        .filter(|(sent, done, _)| *sent > started && *done < ended)
        .collect();
    assert!(inside.len() >= 5, "{started} .. {ended}: {web:?}");
    assert!(
        inside.iter().all(|(_, _, w)| w.as_str() == "200 real"),
        "/web was touched during the fault ({started} .. {ended}): {web:?}"
    );
    let junit = std::fs::read_to_string(run_dir.join("junit.xml")).unwrap();
    assert!(junit.contains("httpAbort"), "{junit}");
    assert!(junit.contains("api-available"), "{junit}");
}
