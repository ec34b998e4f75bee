//! Intake throughput of `POST /api/v1/runs` with `dryRun: true` (parse, validate, plan,
//! answer; nothing injected, no run stored) against a real service on loopback, at a few
//! client concurrencies. Prints a table; run with `cargo bench -p faultline --bench
//! api_intake` (release build). The target is `sleep`, resolved in /proc on every request.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::api::{Auth, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::store::Store;
use faultline_agent::agent::Agent;

const SECONDS: u64 = 3;

#[tokio::main]
async fn main() {
    bench().await;
}

async fn bench() {
    let dir = tempfile::tempdir().expect("temp dir");
    let agent = Agent::open(dir.path().join("agent")).await.expect("agent");
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).expect("store"));
    let service = Service::open(
        store,
        Injector::InProcess(Arc::new(agent)),
        RunOptions::default(),
        Auth::parse("operator:bench-token", "bench").expect("tokens"),
    )
    .expect("service");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/api/v1/runs",
        listener.local_addr().expect("addr")
    );
    let server = service.bind(listener).expect("server");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<String>();
    let serving = tokio::spawn(async move {
        let _ = service
            .run_until(server, async move { stop_rx.await.unwrap_or_default() })
            .await;
    });
    let mut sleeper = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("sleep");
    let body = serde_json::json!({
        "dryRun": true,
        "experiment": format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: bench }}\nspec:\n  target: {{ local: {{ pid: {} }} }}\n  steadyState:\n    - name: up\n      http: {{ url: \"http://127.0.0.1:1/\" }}\n      expect: \">= 0.99\"\n  steps:\n    - processPause: {{}}\n      duration: 10s\n",
            sleeper.id()
        ),
    })
    .to_string();

    println!(
        "| clients | requests | req/s | p50 ms | p99 ms | max ms |\n|---:|---:|---:|---:|---:|---:|"
    );
    for clients in [1usize, 4, 16, 64] {
        let http = faultline_exporter::tls_provider::http_client()
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(SECONDS);
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (http, url, body) = (http.clone(), url.clone(), body.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let res = http
                            .post(&url)
                            .bearer_auth("bench-token")
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("request");
                        assert_eq!(res.status(), 200);
                        let _ = res.bytes().await;
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = Vec::new();
        for t in tasks {
            lat.extend(t.await.expect("client task"));
        }
        let wall = started.elapsed().as_secs_f64();
        lat.sort();
        let pct =
            |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        println!(
            "| {clients} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            lat.len(),
            lat.len() as f64 / wall,
            pct(0.50),
            pct(0.99),
            pct(1.0)
        );
    }
    let _ = stop_tx.send("bench over".into());
    let _ = serving.await;
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}
