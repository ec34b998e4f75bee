//! P8, resolve + inject: one run of the real engine in cluster mode pauses 10,000 pods
//! spread over 10 nodes, each node's agent a real `faultline-agent` process on its own
//! loopback address (127.0.1.K). The Kubernetes API is kube's mock service answering with
//! real PodList JSON (pages of 500, `continue` tokens) through the client-side rate limit;
//! the pods are simulated, their containers are not: every container ID is a real cgroup
//! (`cri-containerd-<id>.scope` in the v2 hierarchy, as containerd names them) holding a
//! real process, which the agents find from the ID and SIGSTOP.
//!
//! Measured per round: run start -> all 10,000 `FaultApplied` events persisted (the
//! guard's list, the step's list, the agent list, 10 apply calls, the agents resolving
//! and stopping their 1,000 processes each, the service recording 10,000 events), then
//! step end -> all recovered. Every round checks that all 10,000 processes really were
//! stopped while the fault held and that none is stopped, and no agent holds a fault,
//! after the run.
//!
//! Goal: < 5 s (Chaos Mesh stalled at ~6k pods, chaos-mesh issue 4776).
//!
//! `cargo bench -p faultline --bench pods_inject` (root; cgroup v2 mounted).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::application::ports::observe::{RunInfo, RunObserver};
use faultline::domain::{RunEvent, RunState};
use faultline::kube::agents::AgentSettings;
use faultline::kube::{Cluster, ClusterConfig, RateLimitLayer};
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_agent::cgroup::TestCgroup;
use faultline_agent::client::AgentClient;
use faultline_agent::resolve::Host;
use faultline_test_support::Proc;
use faultline_test_support::bench::report;
use faultline_test_support::fakes::kube::objects::{
    PodFx, container_id, continue_index, paged_pod_lists, pod_list_json,
};
use http::{Request, Response};
use kube::client::{Body, ClientBuilder};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tower::Layer;

/// Pods in the cluster (all chosen); `FAULTLINE_P8_PODS` overrides, for a quick look.
fn pods() -> usize {
    std::env::var("FAULTLINE_P8_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}
const NODES: usize = 10;
const PAGE: usize = 500;
/// How long the pause holds: long enough to check all 10,000 processes are stopped.
const HOLD: &str = "4s";
const TOKEN: &str = "p8-bench-agent-token-0123456789abcdef";

fn pod_name(i: usize) -> String {
    format!("web-{i}")
}

/// The simulated containers: one v2 cgroup named as containerd names it, one process in
/// each. Dropping kills the processes first (so no cgroup removal waits on a member).
struct Containers {
    pids: Vec<Pid>,
    children: Vec<std::process::Child>,
    cgroups: Vec<TestCgroup>,
    _parent: TestCgroup,
}

impl Containers {
    /// Starts `n` processes, each in its own container cgroup.
    fn create(n: usize) -> Containers {
        let parent = TestCgroup::create(&format!("fltest-p8-{}", std::process::id()), &[], true)
            .expect("parent cgroup in the v2 hierarchy (is cgroup2 mounted?)");
        assert!(parent.dir("v2").is_some(), "P8 needs a cgroup2 mount");
        let mut c = Containers {
            pids: Vec::with_capacity(n),
            children: Vec::with_capacity(n),
            cgroups: Vec::with_capacity(n),
            _parent: parent,
        };
        for i in 0..n {
            let id = container_id(&pod_name(i), "app");
            let cg = TestCgroup::create(
                &format!("fltest-p8-{}/cri-containerd-{id}.scope", std::process::id()),
                &[],
                true,
            )
            .expect("container cgroup");
            // `sleep` rather than a fork of this process: the workspace forbids unsafe.
            // If the bench is SIGKILLed, they end by themselves after 15 minutes.
            let child = Command::new("sleep")
                .arg("900")
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn sleep");
            cg.add(child.id()).expect("move into cgroup");
            c.pids.push(Pid::from_raw(child.id() as i32));
            c.children.push(child);
            c.cgroups.push(cg);
        }
        c
    }
}

/// How many of `pids` are stopped (`T` in /proc/PID/stat).
fn stopped(pids: &[Pid]) -> usize {
    let host = Host::system();
    pids.iter()
        .filter(|p| host.stat(p.as_raw() as u32).is_some_and(|s| s.state == 'T'))
        .count()
}

impl Drop for Containers {
    fn drop(&mut self) {
        for p in &self.pids {
            let _ = kill(*p, Signal::SIGKILL);
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
        self.cgroups.clear();
    }
}

/// The 10 node agents, `faultline-agent` processes next to this bench's target dir.
struct Agents {
    procs: Vec<Proc>,
    clients: Vec<AgentClient>,
    port: u16,
    _dir: tempfile::TempDir,
}

fn agent_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/deps/pods_inject-HASH -> target/release/faultline-agent
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("faultline-agent");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --release -p faultline-agent`; ./bench.sh does)",
        bin.display()
    );
    bin
}

impl Agents {
    async fn start() -> Agents {
        let dir = tempfile::tempdir().expect("temp dir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, TOKEN).expect("token file");
        let bin = agent_binary();
        let mut procs = Vec::new();
        let mut clients = Vec::new();
        // Every node's agent listens on one port, as a DaemonSet's do (the service is told
        // one agent port), so the others must be told a number: the one the first agent got
        // by binding port 0. Each binds its own 127.0.1.k, which nothing else here uses.
        let mut port = 0;
        for k in 1..=NODES {
            let ip = format!("127.0.1.{k}");
            let mut agent = Proc::spawn(
                Command::new(&bin)
                    .args(["--listen", &format!("{ip}:{port}")])
                    .arg("--state-dir")
                    .arg(dir.path().join(format!("agent-{k}")))
                    .arg("--token-file")
                    .arg(&token_file)
                    .env("RUST_LOG", "error")
                    .stdin(Stdio::null()),
            );
            if port == 0 {
                port = agent.wait_listening();
            }
            procs.push(agent);
            clients.push(
                AgentClient::new(format!("http://{ip}:{port}"), Some(TOKEN.into()))
                    .expect("client"),
            );
        }
        let started = Instant::now();
        for c in &clients {
            while c.health().await.is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "agent {} did not come up",
                    c.url()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Agents {
            procs,
            clients,
            port,
            _dir: dir,
        }
    }

    /// Faults the agents still hold, over all of them.
    async fn active(&self) -> usize {
        let mut n = 0;
        for c in &self.clients {
            n += c.list().await.expect("agent fault list").faults.len();
        }
        n
    }
}

impl Drop for Agents {
    fn drop(&mut self) {
        // SIGTERM first: an agent recovers what it holds before it exits.
        for p in &self.procs {
            let _ = kill(Pid::from_raw(p.pid() as i32), Signal::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The pod pages and the agent pod list, rendered once.
struct Api {
    pages: Vec<Vec<u8>>,
    agents: Vec<u8>,
}

impl Api {
    fn render() -> Api {
        let all: Vec<serde_json::Value> = (0..pods())
            .map(|i| PodFx::new("shop", &pod_name(i), &format!("node-{}", i % NODES)).json())
            .collect();
        let pages = paged_pod_lists(all, PAGE);
        let agents: Vec<serde_json::Value> = (0..NODES)
            .map(|k| {
                let mut a = PodFx::new("faultline", &format!("agent-{k}"), &format!("node-{k}"))
                    .ip(&format!("127.0.1.{}", k + 1));
                a.labels = vec![("app.kubernetes.io/name".into(), "faultline-agent".into())];
                a.json()
            })
            .collect();
        Api {
            pages,
            agents: serde_json::to_vec(&pod_list_json(agents, "")).unwrap(),
        }
    }

    /// Answers pod lists in `shop` page by page and the agent list in `faultline`.
    fn serve(
        &self,
        mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    ) -> tokio::task::JoinHandle<()> {
        let pages = self.pages.clone();
        let agents = self.agents.clone();
        tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let path = req.uri().path().to_string();
                let q = req.uri().query().unwrap_or_default().to_string();
                let body = if path == "/api/v1/namespaces/faultline/pods" {
                    agents.clone()
                } else if path == "/api/v1/namespaces/shop/pods" {
                    pages.get(continue_index(&q)).cloned().unwrap_or_default()
                } else {
                    panic!("P8: unexpected API call {} {path}?{q}", req.method());
                };
                send.send_response(Response::builder().body(Body::from(body)).unwrap());
            }
        })
    }
}

/// When the run reached all faults applied and all recovered, from its own events.
#[derive(Default)]
struct Marks {
    started: Option<Instant>,
    injecting: Option<Instant>,
    first_applied: Option<Instant>,
    applied: usize,
    all_applied: Option<Instant>,
    recovered: usize,
    all_recovered: Option<Instant>,
}

#[derive(Default)]
struct Watch(Mutex<Marks>, tokio::sync::Notify);

impl RunObserver for Watch {
    fn observe(&self, _run: &RunInfo, event: &RunEvent, _at: DateTime<Utc>) {
        let mut m = self.0.lock().unwrap();
        match event {
            RunEvent::StateChanged {
                to: RunState::Injecting,
                ..
            } => {
                m.injecting.get_or_insert_with(Instant::now);
            }
            RunEvent::FaultApplied { .. } => {
                m.first_applied.get_or_insert_with(Instant::now);
                m.applied += 1;
                if m.applied == pods() {
                    m.all_applied = Some(Instant::now());
                    self.1.notify_one();
                }
            }
            RunEvent::FaultRecovered { .. } => {
                m.recovered += 1;
                if m.recovered == pods() {
                    m.all_recovered = Some(Instant::now());
                }
            }
            _ => {}
        }
    }
}

struct Round {
    inject_s: f64,
    recover_s: f64,
    stopped: usize,
}

async fn round(k: usize, api: &Api, agents: &Agents, c: &Containers) -> Round {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let local = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = api.serve(handle);
    let client = ClientBuilder::new(RateLimitLayer::new(50.0, 100).layer(svc), "default").build();
    let cluster = Cluster::new(
        client,
        ClusterConfig {
            page_size: PAGE as u32,
            ..ClusterConfig::new(AgentSettings {
                namespace: "faultline".into(),
                selector: "app.kubernetes.io/name=faultline-agent".into(),
                port: agents.port,
                token: Some(TOKEN.into()),
            })
        },
    );
    let yaml = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: p8, namespace: shop }}\nspec:\n  target: {{ namespaces: [shop], labelSelectors: {{ app: web }}, mode: all }}\n  steps:\n    - processPause: {{}}\n      duration: {HOLD}\n"
    );
    let exp = faultline_spec::load_str(&yaml, "p8.yaml")
        .unwrap()
        .remove(0);
    let run = format!("p8-r{k}");
    store.create_run(&run, "p8", "{}").unwrap();
    let watch = Arc::new(Watch::default());
    let mut opts = RunOptions {
        cluster: Some(std::sync::Arc::new(cluster)),
        ..RunOptions::default()
    };
    opts.observers.push(watch.clone());
    let runner = Runner::new(
        store.clone(),
        Injector::InProcess(local),
        opts,
        run.clone(),
        exp,
    );

    eprintln!("P8 round {k}: run starts");
    let started = Instant::now();
    watch.0.lock().unwrap().started = Some(started);
    let run_task = tokio::spawn(async move { runner.execute().await });
    let all_applied = tokio::time::timeout(Duration::from_secs(120), watch.1.notified()).await;
    let stopped = if all_applied.is_ok() {
        let pids = c.pids.clone();
        tokio::task::spawn_blocking(move || stopped(&pids))
            .await
            .unwrap()
    } else {
        0
    };
    eprintln!(
        "P8 round {k}: all applied: {}, {stopped} stopped; waiting for the verdict",
        all_applied.is_ok()
    );
    let state = run_task.await.unwrap();
    server.abort();
    let m = watch.0.lock().unwrap();
    let reason = store.run(&run).map(|r| r.reason).unwrap_or_default();
    assert_eq!(
        state,
        RunState::Passed,
        "P8 round {k}: run ended {state:?}: {reason}"
    );
    let applied = m.all_applied.expect("all applied");
    let recovered = m.all_recovered.expect("all recovered");
    let hold = Duration::from_secs(HOLD.trim_end_matches('s').parse().unwrap());
    if let (Some(i), Some(f)) = (m.injecting, m.first_applied) {
        eprintln!(
            "P8 round {k}: start -> injecting {:.2} s (guard list), -> first agent answered {:.2} s, -> all applied {:.2} s",
            (i - started).as_secs_f64(),
            (f - i).as_secs_f64(),
            (applied - f).as_secs_f64()
        );
    }
    Round {
        inject_s: (applied - started).as_secs_f64(),
        recover_s: ((recovered - applied).saturating_sub(hold)).as_secs_f64(),
        stopped,
    }
}

fn main() {
    let t = Instant::now();
    let containers = Containers::create(pods());
    eprintln!(
        "P8: {} container cgroups and processes in {:.1} s",
        pods(),
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = Api::render();
    let rounds = report::reps(3, 1);
    let (inject, recover) = rt.block_on(async {
        let agents = Agents::start().await;
        eprintln!("P8: {NODES} agents up");
        let mut inject = Vec::new();
        let mut recover = Vec::new();
        for k in 0..rounds {
            let r = round(k, &api, &agents, &containers).await;
            assert_eq!(
                r.stopped,
                pods(),
                "P8 round {k}: only {} of {} processes were stopped while the fault held",
                r.stopped,
                pods()
            );
            let left = stopped(&containers.pids);
            assert_eq!(
                left, 0,
                "P8 round {k}: {left} processes still stopped after the run"
            );
            let held = agents.active().await;
            assert_eq!(
                held, 0,
                "P8 round {k}: agents still hold {held} faults after the run"
            );
            eprintln!(
                "P8 round {k}: inject {:.2} s, recover {:.2} s, {} stopped while held, 0 after",
                r.inject_s, r.recover_s, r.stopped
            );
            inject.push(r.inject_s);
            recover.push(r.recover_s);
        }
        (inject, recover)
    });
    report::emit(
        "P8",
        "inject_10000",
        &format!(
            "resolve + pause {} pods on {NODES} agents (trigger -> all applied)",
            pods()
        ),
        "s",
        &inject,
    );
    report::emit(
        "P8",
        "recover_10000",
        &format!("step end -> all {} recovered", pods()),
        "s",
        &recover,
    );
    let fmt = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        format!(
            "{:.2} / {:.2} / {:.2} s",
            s[0],
            s[s.len() / 2],
            s[s.len() - 1]
        )
    };
    println!("| measure | rounds | min / median / max | goal |");
    println!("|---|---|---|---|");
    println!(
        "| resolve + inject {} pods, {NODES} agents | {rounds} | {} | < 5 s |",
        pods(),
        fmt(&inject)
    );
    println!(
        "| step end -> all recovered | {rounds} | {} | |",
        fmt(&recover)
    );
    drop(containers);
}
