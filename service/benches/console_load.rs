//! P12 (issue 26): the web console's runs page with 10,000 runs stored. Its first load's
//! bytes (HTML + script + stylesheet, headers included, uncompressed), the server's time
//! for the page and for the first page of runs it asks the API for (sequential requests
//! over one kept-alive connection), and, when chromium, chromium-driver and selenium are
//! installed, the time until the page has drawn the runs in headless chromium
//! (`bench/console_render.py`: the script's `faultline-ready` performance mark, from
//! navigation start). `cargo bench -p faultline --bench console_load`.

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::api::{Auth, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;
use faultline_agent::client::AgentClient;
use faultline_test_support::bench::report;

const RUNS: usize = 10_000;
const TOKEN: &str = "bench-console-token";

#[tokio::main]
async fn main() {
    bench().await;
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn fill(store: &Store) {
    for i in 0..RUNS {
        let id = format!("run{i:07}");
        store
            .create_run(&id, &format!("exp-{}", i % 20), "{}")
            .expect("run");
        // Verdicts the state machine allows straight after checking-before.
        let end = [RunState::Failed, RunState::Error, RunState::Aborted][i % 3];
        for (to, reason) in [(RunState::CheckingBefore, ""), (end, "bench")] {
            store
                .record(
                    &id,
                    &RunEvent::StateChanged {
                        to,
                        reason: reason.into(),
                    },
                )
                .expect("event");
        }
    }
}

/// Body plus header bytes of `GET url`, as sent over the wire without compression.
async fn transferred(http: &reqwest::Client, url: &str) -> usize {
    let res = http.get(url).send().await.expect("get");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    let headers: usize = res
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + "HTTP/1.1 200 OK\r\n\r\n".len();
    headers + res.bytes().await.expect("body").len()
}

async fn times(http: &reqwest::Client, url: &str, token: bool, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let mut req = http.get(url);
        if token {
            req = req.bearer_auth(TOKEN);
        }
        let body = req.send().await.expect("get").bytes().await.expect("body");
        out.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!body.is_empty());
    }
    out
}

async fn bench() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).expect("store"));
    let t0 = Instant::now();
    fill(&store);
    println!("stored {RUNS} runs in {:.1} s", t0.elapsed().as_secs_f64());
    // A remote agent nobody calls: the runs page needs no agent.
    let agent = AgentClient::new("http://127.0.0.1:9".to_string(), None).expect("client");
    let service = Service::open(
        store,
        Injector::Remote(agent),
        RunOptions::default(),
        Auth::parse(&format!("viewer:{TOKEN}"), "bench").expect("tokens"),
    )
    .expect("service");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = service.bind(listener).expect("server");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<String>();
    let serving = tokio::spawn(async move {
        let _ = service
            .run_until(server, async move { stop_rx.await.unwrap_or_default() })
            .await;
    });
    let http = reqwest::Client::new();

    let mut bytes = 0;
    for path in ["/", "/assets/console.js", "/assets/console.css"] {
        let b = transferred(&http, &format!("{base}{path}")).await;
        println!("{path}: {b} bytes");
        bytes += b;
    }
    let kb = bytes as f64 / 1000.0;
    println!("first load: {kb:.1} KB (goal <= 100 KB)");
    report::emit(
        "P12",
        "first_load_kb",
        "console runs page first load (HTML+JS+CSS)",
        "KB",
        &[kb],
    );

    let n = report::reps(500, 100);
    for (name, label, path, token) in [
        ("page_ms", "console runs page HTML, served", "/", false),
        (
            "runs_api_ms",
            "its first page of runs (API, 10,000 stored)",
            "/api/v1/runs?limit=50",
            true,
        ),
    ] {
        let mut t = times(&http, &format!("{base}{path}"), token, n).await;
        t.sort_by(f64::total_cmp);
        println!(
            "{label}: p50 {:.2} ms, p99 {:.2} ms over {n} requests (goal p99 < 20 ms)",
            pct(&t, 0.5),
            pct(&t, 0.99)
        );
        report::emit("P12", name, label, "ms", &t);
    }

    let reps = report::reps(20, 5).to_string();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/console_render.py");
    match Command::new("python3")
        .args([script, &base, TOKEN, &reps])
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            match serde_json::from_str::<Vec<f64>>(text.trim()) {
                Ok(mut ms) if !ms.is_empty() => {
                    ms.sort_by(f64::total_cmp);
                    println!(
                        "rendered in chromium: median {:.0} ms, max {:.0} ms (goal < 300 ms)",
                        pct(&ms, 0.5),
                        ms[ms.len() - 1]
                    );
                    report::emit(
                        "P12",
                        "render_ms",
                        "console runs page rendered (chromium)",
                        "ms",
                        &ms,
                    );
                }
                _ => println!("SKIPPED: rendering: {}", text.trim()),
            }
        }
        Ok(out) => println!(
            "SKIPPED: rendering: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("console_render.py failed")
        ),
        Err(e) => println!("SKIPPED: rendering: python3: {e}"),
    }
    let _ = stop_tx.send("bench over".into());
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .ok();
}
