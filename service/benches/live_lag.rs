//! P12, the live view's lag (issue 26): "the live view keeps up with a run's events with
//! < 1 s lag while 10 runs stream at once". Ten real runs at once (each pauses its own
//! `sleep` process through the in-process agent while an HTTP check every 100 ms records
//! an event), each followed by an SSE client over `/api/v1/runs/{id}/events`; and one run
//! also followed by the console's live view in headless chromium
//! (`bench/live_lag.py`: a MutationObserver notes when each event's row is drawn).
//! The lag of an event: from its stored time (`at`) to its SSE frame read by the client,
//! and to its row in the page. Needs root (the pause). `cargo bench -p faultline --bench
//! live_lag`.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use faultline::api::{Auth, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_test_support::bench::report;
use serde_json::Value;

const RUNS: usize = 10;
const OPERATOR: &str = "bench-live-operator";

#[tokio::main]
async fn main() {
    bench().await;
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A process to pause, killed when dropped.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn experiment(name: &str, pid: u32, port: u16, seconds: u64) -> String {
    format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: {name} }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steadyState:\n    - name: availability\n      http: {{ url: \"http://127.0.0.1:{port}/\", every: 100ms, timeout: 500ms }}\n      expect: \">= 0.99\"\n  steps:\n    - name: pause\n      processPause: {{}}\n      duration: {seconds}s\n"
    )
}

/// A loopback HTTP server answering 200 to every request: what the checks probe.
async fn checked_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().default_service(actix_web::web::to(|| async { "ok" }))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    port
}

/// Follows run `id`'s SSE stream to its end; the lag of each event, in ms.
async fn follow(http: reqwest::Client, base: String, id: String) -> Vec<f64> {
    let mut res = http
        .get(format!("{base}/api/v1/runs/{id}/events"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("events");
    let mut lags = Vec::new();
    let mut buf = String::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        let now = Utc::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(cut) = buf.find("\n\n") {
            let frame: String = buf.drain(..cut + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            if let Some(at) = v["at"]
                .as_str()
                .and_then(|a| a.parse::<DateTime<Utc>>().ok())
            {
                lags.push((now - at).num_microseconds().unwrap_or(0) as f64 / 1e3);
            }
        }
    }
    lags
}

fn summary(label: &str, lags: &mut [f64]) {
    lags.sort_by(f64::total_cmp);
    if lags.is_empty() {
        println!("{label}: no events");
        return;
    }
    println!(
        "{label}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} events (goal < 1000 ms)",
        pct(lags, 0.5),
        pct(lags, 0.99),
        lags[lags.len() - 1],
        lags.len()
    );
}

async fn bench() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).expect("store"));
    let agent = Agent::open(dir.path().join("agent")).await.expect("agent");
    let service = Service::open(
        store,
        Injector::InProcess(Arc::new(agent)),
        RunOptions::default(),
        Auth::parse(&format!("operator:{OPERATOR}"), "bench").expect("tokens"),
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
    let port = checked_server().await;
    let http = faultline_exporter::tls_provider::http_client()
        .build()
        .expect("http client");
    let seconds = if report::quick() { 8 } else { 20 };

    let mut sleepers = Vec::new();
    let mut ids = Vec::new();
    for i in 0..RUNS {
        let sleeper = Sleeper(Command::new("sleep").arg("600").spawn().expect("sleep"));
        let name = format!("live-lag-{i}");
        let yaml = experiment(&name, sleeper.0.id(), port, seconds);
        sleepers.push(sleeper);
        let res = http
            .post(format!("{base}/api/v1/experiments"))
            .bearer_auth(OPERATOR)
            .header("Content-Type", "application/yaml")
            .body(yaml)
            .send()
            .await
            .expect("experiment");
        assert!(res.status().is_success(), "experiment: {}", res.status());
    }
    let t0 = Instant::now();
    for i in 0..RUNS {
        let res: Value = http
            .post(format!("{base}/api/v1/experiments/live-lag-{i}/runs"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .expect("start")
            .json()
            .await
            .expect("created");
        ids.push(res["id"].as_str().expect("run id").to_string());
    }
    let clients: Vec<_> = ids
        .iter()
        .map(|id| tokio::spawn(follow(http.clone(), base.clone(), id.clone())))
        .collect();
    // The browser follows the first run's live view meanwhile.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/live_lag.py");
    let browser = {
        let (base, id) = (base.clone(), ids[0].clone());
        tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .args([script, &base, OPERATOR, &id, &(seconds + 60).to_string()])
                .output()
        })
    };
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.expect("client"));
    }
    println!(
        "{RUNS} runs of {seconds} s streamed to {RUNS} SSE clients in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    summary("SSE lag (10 runs at once)", &mut all);
    report::emit(
        "P12",
        "live_sse_lag_ms",
        "live events: stored -> SSE client (10 runs at once)",
        "ms",
        &all,
    );

    match browser.await.expect("browser task") {
        Ok(out) if out.status.success() => {
            let seen: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            let run: Value = http
                .get(format!("{base}/api/v1/runs/{}", ids[0]))
                .bearer_auth(OPERATOR)
                .send()
                .await
                .expect("run")
                .json()
                .await
                .expect("run json");
            let ready = seen["ready"].as_f64().unwrap_or(f64::MAX);
            let mut lags: Vec<f64> = run["events"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|e| {
                    let at = e["at"].as_str()?.parse::<DateTime<Utc>>().ok()?;
                    let at_ms = at.timestamp_micros() as f64 / 1e3;
                    let drawn = seen["seen"][e["seq"].to_string()].as_f64()?;
                    // Events stored before the page was ready were drawn by its first load.
                    (at_ms >= ready).then_some(drawn - at_ms)
                })
                .collect();
            summary("browser live view lag (1 of the 10 runs)", &mut lags);
            report::emit(
                "P12",
                "live_browser_lag_ms",
                "live events: stored -> row drawn in chromium's live view",
                "ms",
                &lags,
            );
        }
        Ok(out) => println!(
            "SKIPPED: browser lag: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("live_lag.py failed")
        ),
        Err(e) => println!("SKIPPED: browser lag: python3: {e}"),
    }
    drop(sleepers);
    let _ = stop_tx.send("bench over".into());
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .ok();
}
