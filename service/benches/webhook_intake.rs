//! Intake of `POST /webhooks/gitlab` against a real service on loopback (127.0.0.1 only):
//! GitLab's documented Pipeline Hook payload (`tests/fixtures/gitlab/pipeline.json`) with
//! a valid `X-Gitlab-Token`, at 1/8/32/64 connections, 3 repeats each. The issue's goal is
//! at least 20k accepted events/s with p99 under 5 ms. Run with `cargo bench -p faultline
//! --bench webhook_intake` (release build); a run takes about 90 s.
//!
//! Rows (every answer is a 202, so GitLab would count each delivery as delivered):
//! - `a`: no rule matches ("ignored"), a unique `X-Gitlab-Event-UUID` per delivery: token
//!   check, JSON parse, the catalog listing (a SQLite read), rules. Ignored deliveries are
//!   not recorded, so no store write.
//! - `b`: as `a` without the UUID header.
//! - `c`: a rule matches a catalog experiment (with `guard.dryRun` and template values)
//!   while the emergency stop is engaged ("refused"): `a` without the UUID, plus the
//!   experiment's row read, template rendering, spec parse and validation, and the halt
//!   read. Nothing runs: the stop refuses the delivery (as `guard.dryRun` would, a check
//!   later), so this row is pure intake.
//! - `d`: `c` with a unique UUID, so the delivery is recorded before the refusal and its
//!   answer after: an INSERT and an UPDATE, `synchronous=FULL`, group-committed with
//!   whatever other deliveries wait at the same time (`store/deliveries.rs`).
//!
//! The load comes from `wrk` (a separate C process with one thread, so it competes less
//! with the server's two workers than an in-process client would); without `wrk` on the
//! PATH, in-process reqwest clients stand in and the output says so. A last table times
//! the handler's steps in-process, one thread, to show where a request's time goes.
//!
//! Under `./bench.sh --quick`: 8 and 32 connections, 2 repeats of 1 s.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::api::GitlabHooks;
use faultline::api::webhooks::install;
use faultline::api::{Auth, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::application::gitlab_trigger::hooks;
use faultline::application::gitlab_trigger::hooks::EventKind;
use faultline::application::gitlab_trigger::{GitlabConfig, rules};
use faultline::domain::GitlabContext;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_test_support::bench::report;

/// Seconds per measurement (wrk takes whole seconds).
const SECONDS: u64 = 2;
/// Client connections per measurement.
const CONNECTIONS: [usize; 4] = [1, 8, 32, 64];
/// Measurements per (row, connections).
const REPEATS: usize = 3;
/// The issue's goal.
const GOAL_RPS: f64 = 20_000.0;
/// The issue's goal for p99, in ms.
const GOAL_P99_MS: f64 = 5.0;
/// The one project's webhook secret.
const SECRET: &str = "bench-webhook-secret-0001";

/// Never matches the pipeline fixture (`success`, ref `master`), but every rule is
/// evaluated, so the answer lists three reasons as a real config's would.
const CONFIG_IGNORE: &str = r#"projects:
  - path: "*"
    secret: bench-webhook-secret-0001
rules:
  - name: after-staging-deploy
    events: [deployment]
    status: [success]
    environments: [staging]
    experiments: ["bench-*"]
  - name: failed-pipelines
    events: [pipeline]
    status: [failed]
    experiments: ["bench-*"]
  - name: release-tags
    events: [push]
    refs: ["v*"]
    experiments: ["bench-*"]
"#;

/// Matches the pipeline fixture into the catalog's `bench-dry`.
const CONFIG_MATCH: &str = r#"projects:
  - path: "*"
    secret: bench-webhook-secret-0001
rules:
  - name: after-staging-deploy
    events: [deployment]
    status: [success]
    environments: [staging]
    experiments: ["bench-*"]
  - name: mr-pipelines
    events: [pipeline]
    status: [success]
    experiments: ["bench-*"]
"#;

#[tokio::main]
async fn main() {
    bench().await;
}

/// A service on a loopback port with the webhook installed, stopped on drop.
struct Server {
    url: String,
    store: Arc<Store>,
    stop: Option<tokio::sync::oneshot::Sender<String>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(dir: &Path, config: &str) -> Server {
        let agent = Agent::open(dir.join("agent")).await.expect("agent");
        let store = Arc::new(Store::open(&dir.join("faultline.db")).expect("store"));
        let service = Service::open(
            store.clone(),
            Injector::InProcess(Arc::new(agent)),
            RunOptions::default(),
            Auth::parse("operator:bench-token-0123456789", "bench").expect("tokens"),
        )
        .expect("service");
        install(
            &service.state,
            GitlabHooks {
                config: GitlabConfig::parse(config, "bench-gitlab.yaml").expect("config"),
                previews: None,
                outbox: None,
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/webhooks/gitlab",
            listener.local_addr().expect("addr")
        );
        let server = service.bind(listener).expect("server");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<String>();
        let task = tokio::spawn(async move {
            let _ = service
                .run_until(server, async move { stop_rx.await.unwrap_or_default() })
                .await;
        });
        Server {
            url,
            store,
            stop: Some(stop_tx),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send("bench over".into());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send("bench over".into());
        }
    }
}

/// The catalog experiment of row `c`: a dry run with template values, pausing a `sleep`
/// nobody else cares about (it never runs: the emergency stop is engaged).
fn experiment(pid: u32) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata:
  name: bench-dry
  annotations: {{ sha: "{{{{ gitlab.sha }}}}", pipeline: "{{{{ gitlab.pipeline_id }}}}" }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  guard: {{ dryRun: true }}
  steadyState:
    - name: up
      http: {{ url: "http://127.0.0.1:1/{{{{ gitlab.sha }}}}" }}
      expect: ">= 0.99"
  steps:
    - processPause: {{}}
      duration: 10s
"#
    )
}

/// One row of the table.
struct Row {
    name: &'static str,
    what: &'static str,
    url: String,
    uuid: bool,
    /// The key the 202's JSON body must have.
    answer: &'static str,
}

/// One measurement.
#[derive(Debug, Clone, Copy)]
struct Sample {
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    non_2xx: u64,
    /// Answers other than 202 (a 200 would be a duplicate), socket errors included.
    not_202: u64,
}

/// The wrk script: a Pipeline Hook with the project's secret, a fresh UUID per request
/// when asked (run prefix, thread, counter), and a count of unexpected answers.
const LUA: &str = r#"
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  payload = body
  prefix = args[3]
  n = 0
  non2xx = 0
  not202 = 0
  hdrs = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitLab/18.10.0",
    ["X-Gitlab-Instance"] = "https://gitlab.example.org",
    ["X-Gitlab-Event"] = "Pipeline Hook",
    ["X-Gitlab-Token"] = args[4],
  }
  if args[2] ~= "uuid" then
    fixed = wrk.format("POST", nil, hdrs, payload)
  end
end
function request()
  if fixed then return fixed end
  n = n + 1
  hdrs["X-Gitlab-Event-UUID"] = string.format("%s-%04x-4000-8000-%012x", prefix, tid, n)
  return wrk.format("POST", nil, hdrs, payload)
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if status ~= 202 then not202 = not202 + 1 end
end
function done(summary, latency, requests)
  local bad, odd = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    odd = odd + t:get("not202")
  end
  local e = summary.errors
  local sock = e.connect + e.read + e.write + e.timeout
  io.write(string.format("FAULTLINE %d %d %.0f %.0f %.0f %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, bad, odd + sock))
end
"#;

struct Wrk {
    script: PathBuf,
    body: PathBuf,
}

impl Wrk {
    async fn run(&self, row: &Row, conns: usize, secs: u64) -> Sample {
        let prefix = format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32);
        let out = tokio::process::Command::new("wrk")
            .args(["-t1", &format!("-c{conns}"), &format!("-d{secs}s")])
            .args(["--timeout", "10s", "-s"])
            .arg(&self.script)
            .arg(&row.url)
            .arg("--")
            .arg(&self.body)
            .args([if row.uuid { "uuid" } else { "none" }, &prefix, SECRET])
            .output()
            .await
            .expect("wrk runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("FAULTLINE "))
            .unwrap_or_else(|| {
                panic!(
                    "wrk printed no result:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let f: Vec<f64> = line
            .split_whitespace()
            .map(|v| v.parse().expect("number"))
            .collect();
        Sample {
            requests: f[0] as u64,
            rps: f[0] / (f[1] / 1e6),
            p50_ms: f[2] / 1e3,
            p99_ms: f[3] / 1e3,
            max_ms: f[4] / 1e3,
            non_2xx: f[5] as u64,
            not_202: f[6] as u64,
        }
    }
}

/// The fallback load: `conns` in-process reqwest clients in a closed loop.
async fn reqwest_run(row: &Row, body: &[u8], conns: usize, secs: u64) -> Sample {
    let http = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let body = body.to_vec();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (http, url, body, uuid) = (http.clone(), row.url.clone(), body.clone(), row.uuid);
            tokio::spawn(async move {
                let (mut lat, mut non_2xx, mut not_202) = (Vec::new(), 0u64, 0u64);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let mut req = http
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .header("User-Agent", "GitLab/18.10.0")
                        .header("X-Gitlab-Event", "Pipeline Hook")
                        .header("X-Gitlab-Token", SECRET)
                        .body(body.clone());
                    if uuid {
                        req = req.header("X-Gitlab-Event-UUID", uuid::Uuid::new_v4().to_string());
                    }
                    match req.send().await {
                        Ok(res) => {
                            let s = res.status().as_u16();
                            non_2xx += u64::from(!(200..300).contains(&s));
                            not_202 += u64::from(s != 202);
                            let _ = res.bytes().await;
                        }
                        Err(_) => {
                            non_2xx += 1;
                            not_202 += 1;
                        }
                    }
                    lat.push(t.elapsed());
                }
                (lat, non_2xx, not_202)
            })
        })
        .collect();
    let (mut lat, mut non_2xx, mut not_202) = (Vec::<Duration>::new(), 0, 0);
    for t in tasks {
        let (l, a, b) = t.await.expect("client task");
        lat.extend(l);
        non_2xx += a;
        not_202 += b;
    }
    let wall = started.elapsed().as_secs_f64();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    Sample {
        requests: lat.len() as u64,
        rps: lat.len() as f64 / wall,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        non_2xx,
        not_202,
    }
}

/// One delivery by reqwest, checked: 202 with `answer` in the JSON body.
async fn preflight(row: &Row, body: &[u8], uuid: Option<&str>) {
    let mut req = faultline_exporter::tls_provider::http_client()
        .build()
        .unwrap()
        .post(&row.url)
        .header("Content-Type", "application/json")
        .header("X-Gitlab-Event", "Pipeline Hook")
        .header("X-Gitlab-Token", SECRET)
        .body(body.to_vec());
    if let Some(u) = uuid {
        req = req.header("X-Gitlab-Event-UUID", u);
    }
    let res = req.send().await.expect("preflight");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    assert!(
        status == 202 && json.get(row.answer).is_some(),
        "row {}: expected 202 with {:?}, got {status}: {text}",
        row.name,
        row.answer
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "nproc {cores} ({cpu}); load average at start {} (1/5/15 min)",
        load.join(" ")
    )
}

async fn bench() {
    println!("machine: {}", machine());
    let wrk = std::process::Command::new("wrk")
        .arg("-v")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("wrk")
                .to_string()
        });
    match &wrk {
        Some(v) => println!(
            "load: {v}, one thread, closed loop, {} s per measurement",
            if report::quick() { 1 } else { SECONDS }
        ),
        None => println!(
            "load: wrk NOT FOUND on PATH; falling back to in-process reqwest clients (they share the two cores with the server, so figures are lower than wrk's)"
        ),
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = format!(
        "{}/tests/fixtures/gitlab/pipeline.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body = std::fs::read(&fixture).expect("pipeline fixture");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("sleep");

    std::fs::create_dir_all(dir.path().join("ignore")).expect("dir");
    std::fs::create_dir_all(dir.path().join("match")).expect("dir");
    let ignoring = Server::start(&dir.path().join("ignore"), CONFIG_IGNORE).await;
    let matching = Server::start(&dir.path().join("match"), CONFIG_MATCH).await;
    faultline::application::catalog::put(&*matching.store, &experiment(sleeper.id()), "bench")
        .expect("catalog");
    matching
        .store
        .halt("benchmark: nothing may run", "bench")
        .expect("halt");
    println!(
        "store: SQLite WAL, synchronous=FULL, under {} ({})",
        dir.path().display(),
        fs_type(dir.path())
    );

    let rows = [
        Row {
            name: "a",
            what: "ignored, unique UUID (ignored events are not recorded: no store write)",
            url: ignoring.url.clone(),
            uuid: true,
            answer: "ignored",
        },
        Row {
            name: "b",
            what: "ignored, no UUID (no store write)",
            url: ignoring.url.clone(),
            uuid: false,
            answer: "ignored",
        },
        Row {
            name: "c",
            what: "rule matches dry-run catalog experiment, emergency stop: refused, no UUID",
            url: matching.url.clone(),
            uuid: false,
            answer: "refused",
        },
        Row {
            name: "d",
            what: "rule matches, unique UUID: delivery recorded (INSERT+UPDATE, group commit), then refused",
            url: matching.url.clone(),
            uuid: true,
            answer: "refused",
        },
    ];
    for row in &rows {
        let uuid = row.uuid.then(|| uuid::Uuid::new_v4().to_string());
        preflight(row, &body, uuid.as_deref()).await;
        if let Some(u) = &uuid {
            // Deliveries that would start runs are recorded (claiming again finds them);
            // ignored ones are not.
            let recorded = row.answer != "ignored";
            let store = if recorded {
                &matching.store
            } else {
                &ignoring.store
            };
            let seen = store
                .claim_delivery(u, "Pipeline Hook")
                .await
                .expect("claim");
            assert_eq!(
                seen.is_some(),
                recorded,
                "row {}: delivery recorded?",
                row.name
            );
        }
    }

    let runner = wrk.as_ref().map(|_| {
        let script = dir.path().join("webhook.lua");
        std::fs::write(&script, LUA).expect("lua");
        let body_file = dir.path().join("pipeline.json");
        std::fs::write(&body_file, &body).expect("body");
        Wrk {
            script,
            body: body_file,
        }
    });
    let measure = async |row: &Row, conns: usize, secs: u64| match &runner {
        Some(w) => w.run(row, conns, secs).await,
        None => reqwest_run(row, &body, conns, secs).await,
    };

    println!();
    println!(
        "| row | what | conns | requests | req/s min / median / max | p50 ms | p99 ms (median / worst) | max ms | non-2xx | not 202 | goal |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let (connections, repeats, seconds) = if report::quick() {
        (&[8, 32][..], 2, 1)
    } else {
        (&CONNECTIONS[..], REPEATS, SECONDS)
    };
    for row in &rows {
        // Warm-up: connections, SQLite page cache, the allocator.
        let _ = measure(row, 8, 1).await;
        for &conns in connections {
            let mut samples = Vec::new();
            for _ in 0..repeats {
                samples.push(measure(row, conns, seconds).await);
            }
            let label = format!("{}: {} ({conns} connections)", row.name, row.what);
            let rps: Vec<f64> = samples.iter().map(|s| s.rps).collect();
            let p99: Vec<f64> = samples.iter().map(|s| s.p99_ms).collect();
            let errors: Vec<f64> = samples.iter().map(|s| s.non_2xx as f64).collect();
            report::emit(
                "P6",
                &format!("rps_{}_{conns}", row.name),
                &label,
                "req/s",
                &rps,
            );
            report::emit(
                "P6",
                &format!("p99_{}_{conns}", row.name),
                &label,
                "ms",
                &p99,
            );
            report::emit(
                "P6",
                &format!("non2xx_{}_{conns}", row.name),
                &label,
                "",
                &errors,
            );
            let rps: Vec<f64> = samples.iter().map(|s| s.rps).collect();
            let (lo, hi) = (
                rps.iter().copied().fold(f64::INFINITY, f64::min),
                rps.iter().copied().fold(0.0, f64::max),
            );
            let mid = median(rps);
            let p50 = median(samples.iter().map(|s| s.p50_ms).collect());
            let p99 = median(samples.iter().map(|s| s.p99_ms).collect());
            let p99_worst = samples.iter().map(|s| s.p99_ms).fold(0.0, f64::max);
            let max = samples.iter().map(|s| s.max_ms).fold(0.0, f64::max);
            let requests: u64 = samples.iter().map(|s| s.requests).sum();
            let non_2xx: u64 = samples.iter().map(|s| s.non_2xx).sum();
            let not_202: u64 = samples.iter().map(|s| s.not_202).sum();
            let goal = if mid >= GOAL_RPS && p99 < GOAL_P99_MS && non_2xx == 0 {
                "met"
            } else {
                "missed"
            };
            println!(
                "| {} | {} | {conns} | {requests} | {lo:.0} / {mid:.0} / {hi:.0} | {p50:.2} | {p99:.2} / {p99_worst:.2} | {max:.1} | {non_2xx} | {not_202} | {goal} |",
                row.name, row.what
            );
        }
    }
    println!(
        "\ngoal: >= {GOAL_RPS:.0} req/s (median of {repeats}) with p99 < {GOAL_P99_MS} ms (median of {repeats}) and no non-2xx"
    );

    // On a plain thread: the delivery step blocks on the store's writer, and blocking on
    // a tokio channel from a runtime worker spins on tokio's task budget forever.
    std::thread::scope(|sc| {
        sc.spawn(|| steps(&body, &ignoring.store, &matching.store));
    });

    ignoring.stop().await;
    matching.stop().await;
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

/// The handler's steps timed in-process on one thread, the store ones on the bench's
/// own stores (the servers are idle by now).
fn steps(body: &[u8], ignoring: &Store, matching: &Store) {
    let ignore_cfg = GitlabConfig::parse(CONFIG_IGNORE, "ignore").expect("config");
    let match_cfg = GitlabConfig::parse(CONFIG_MATCH, "match").expect("config");
    let ev = hooks::parse(EventKind::Pipeline, body).expect("fixture parses");
    let mut cx: GitlabContext = ev.context.clone();
    cx.event_uuid = None;
    let names = vec!["bench-dry".to_string()];
    let prefix = uuid::Uuid::new_v4().to_string();
    let mut n = 0u64;
    println!("\nwhere a request's time goes (in-process, one thread, no HTTP):\n");
    println!("| step | µs per call | calls |\n|---|---:|---:|");
    let time = |name: &str, budget: Duration, f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < budget {
            f();
            calls += 1;
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / calls as f64;
        println!("| {name} | {us:.1} | {calls} |");
    };
    let short = Duration::from_millis(300);
    time("hooks::parse (pipeline.json)", short, &mut || {
        std::hint::black_box(hooks::parse(EventKind::Pipeline, body).expect("parse"));
    });
    time("store.list_experiments (empty catalog)", short, &mut || {
        std::hint::black_box(ignoring.list_experiments().expect("list"));
    });
    time("rules::select, 3 rules, none match", short, &mut || {
        let _ = std::hint::black_box(rules::select(&ignore_cfg.rules, &ev, &[]));
    });
    time(
        "store.claim_delivery + finish_delivery, one at a time: 2 commits (row d's extra)",
        short,
        &mut || {
            n += 1;
            let u = format!("{prefix}-{n}");
            futures::executor::block_on(async {
                ignoring
                    .claim_delivery(&u, "Pipeline Hook")
                    .await
                    .expect("claim");
                ignoring
                    .finish_delivery(&u, "{\"ignored\":\"bench\"}".into())
                    .await
                    .expect("finish");
            });
        },
    );
    time("rules::select, matching (row c)", short, &mut || {
        let _ = std::hint::black_box(rules::select(&match_cfg.rules, &ev, &names));
    });
    time(
        "catalog::get: row read + template + spec (row c)",
        short,
        &mut || {
            std::hint::black_box(
                faultline::application::catalog::get(matching, "bench-dry", Some(&cx))
                    .expect("get"),
            );
        },
    );
    time("store.halted (row c)", short, &mut || {
        std::hint::black_box(matching.halted().expect("halted"));
    });
}

fn fs_type(path: &Path) -> String {
    // The longest mount point that holds `path`, from /proc/mounts.
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1])).then(|| (f[1].len(), f[2].to_string()))
        })
        .max()
        .map_or_else(|| "unknown filesystem".into(), |(_, t)| t)
}
