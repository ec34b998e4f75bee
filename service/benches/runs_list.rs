//! `GET /api/v1/runs` with 10,000 runs stored (issue 5's goal: p99 < 20 ms): the first
//! page, a page filtered by experiment and state, and a page deep in the history by
//! keyset cursor, each requested sequentially over one kept-alive connection against a
//! real service on loopback. Prints a table; `cargo bench -p faultline --bench runs_list`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::api::{Auth, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;
use faultline_agent::client::AgentClient;

const RUNS: usize = 10_000;
const REQUESTS: usize = 500;

#[tokio::main]
async fn main() {
    bench().await;
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn bench() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).expect("store"));
    let t0 = Instant::now();
    let mut middle = String::new();
    for i in 0..RUNS {
        let id = format!("run{i:07}");
        store
            .create_run(&id, &format!("exp-{}", i % 20), "{}")
            .expect("run");
        let end = if i % 3 == 0 {
            RunState::Failed
        } else {
            RunState::Error
        };
        // The state machine's way: a verdict comes after checking-before.
        store
            .record(
                &id,
                &RunEvent::StateChanged {
                    to: RunState::CheckingBefore,
                    reason: String::new(),
                },
            )
            .expect("event");
        store
            .record(
                &id,
                &RunEvent::StateChanged {
                    to: end,
                    reason: "bench".into(),
                },
            )
            .expect("event");
        if i == RUNS / 2 {
            middle = id;
        }
    }
    println!("stored {RUNS} runs in {:.1} s", t0.elapsed().as_secs_f64());
    // A remote agent nobody calls: listing runs needs no agent.
    let agent = AgentClient::new("http://127.0.0.1:9".to_string(), None).expect("client");
    let service = Service::open(
        store,
        Injector::Remote(agent),
        RunOptions::default(),
        Auth::parse("viewer:bench-token", "bench").expect("tokens"),
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
    let http = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap();
    println!(
        "| query | requests | p50 ms | p99 ms | max ms | runs per page | goal p99 < 20 ms |\n|---|---:|---:|---:|---:|---:|---|"
    );
    for (name, path) in [
        ("newest 50", "/api/v1/runs?limit=50".to_string()),
        (
            "experiment + state, 50",
            "/api/v1/runs?limit=50&experiment=exp-7&state=error".to_string(),
        ),
        (
            "page after run 5,000",
            format!("/api/v1/runs?limit=50&before={middle}"),
        ),
        ("newest 1000", "/api/v1/runs?limit=1000".to_string()),
    ] {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(REQUESTS);
        let mut per_page = 0;
        for _ in 0..REQUESTS {
            let t = Instant::now();
            let v: serde_json::Value = http
                .get(&url)
                .bearer_auth("bench-token")
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            times.push(t.elapsed());
            per_page = v["runs"].as_array().map_or(0, Vec::len);
        }
        times.sort();
        let p99 = pct(&times, 0.99);
        println!(
            "| {name} | {REQUESTS} | {:.2} | {p99:.2} | {:.2} | {per_page} | {} |",
            pct(&times, 0.5),
            times.last().expect("times").as_secs_f64() * 1e3,
            if p99 < 20.0 { "met" } else { "missed" }
        );
    }
    let _ = stop_tx.send("bench over".into());
    let _ = serving.await;
}
