//! What the API tests share: real processes as targets, a Python HTTP server as the system
//! under test, a faultline service on a loopback port with the in-process agent in a temp
//! state dir, and a small SSE reader. Everything started here is stopped by a `Drop`.
#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::api::{Auth, ServeError, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use futures::StreamExt;

// Processes, ports and the web server under test come from `common`, shared with the
// tests that need no faultline server.
#[path = "../common/mod.rs"]
mod common;
pub use common::*;

/// `GET url` as the viewer, the body as JSON.
pub async fn viewer_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    client()
        .get(url)
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The run `id` as `GET {base}/api/v1/runs/{id}` shows it once it has a verdict (waits up
/// to 60 s, asking as the viewer).
pub async fn wait_verdict(base: &str, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r: serde_json::Value = viewer_json(format!("{base}/api/v1/runs/{id}")).await;
        let state = r["verdict"]
            .as_str()
            .and_then(faultline::domain::RunState::parse);
        if state.is_some_and(|s| s.is_terminal()) {
            return r;
        }
        assert!(Instant::now() < deadline, "run {id} never ended: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 20 s) until `pid` is stopped.
pub async fn wait_stopped(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if proc_state(pid) == 'T' {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// An experiment pausing `pid` for `duration`, judged by an HTTP check on `port`.
pub fn pause_yaml(name: &str, pid: u32, port: u16, duration: &str) -> String {
    format!(
        r#"apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 100ms, timeout: 500ms }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: {duration}
"#
    )
}

/// The tokens every test server accepts.
pub const VIEWER: &str = "viewer-token-0123456789";
/// Operator token.
pub const OPERATOR: &str = "operator-token-0123456789";
/// Admin token.
pub const ADMIN: &str = "admin-token-0123456789";

/// A faultline service on a loopback port, stopped (runs aborted) on drop.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its store.
    pub store: Arc<Store>,
    /// Its in-process agent.
    pub agent: Agent,
    stop: Option<tokio::sync::oneshot::Sender<String>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
    /// Runs a previous process left, now `error`.
    pub interrupted: Vec<String>,
    /// Temp dir with the store file and the agent's state dir.
    pub dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    /// A server with the three test tokens over a fresh temp dir.
    pub async fn start() -> TestServer {
        TestServer::start_in(Arc::new(tempfile::tempdir().unwrap())).await
    }

    /// A server over `dir` (reusing its store file: a restart).
    pub async fn start_in(dir: Arc<tempfile::TempDir>) -> TestServer {
        TestServer::start_with(dir, |_, _| {}, |_| {}).await
    }

    /// A server over `dir` whose run options `options` may change (observers) before the
    /// service opens, and whose state `install` may extend (the GitLab webhook) after.
    pub async fn start_with(
        dir: Arc<tempfile::TempDir>,
        options: impl FnOnce(&mut RunOptions, &Arc<Store>),
        install: impl FnOnce(&Service),
    ) -> TestServer {
        let agent = Agent::open(dir.path().join("agent")).await.unwrap();
        let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
        let auth = Auth::parse(
            &format!("viewer:{VIEWER}\noperator:{OPERATOR}\nadmin:{ADMIN}\n"),
            "test tokens",
        )
        .unwrap();
        let mut opts = RunOptions {
            lease: Duration::from_secs(10),
            alerts_pushed: true,
            ..RunOptions::default()
        };
        options(&mut opts, &store);
        let service = Service::open(
            store.clone(),
            Injector::InProcess(Arc::new(agent.clone())),
            opts,
            auth,
        )
        .unwrap();
        install(&service);
        let interrupted = service.interrupted.clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let server = service.bind(listener).unwrap();
        let task = tokio::spawn(async move {
            service
                .run_until(server, async move { rx.await.unwrap_or_default() })
                .await
        });
        TestServer {
            base,
            store,
            agent,
            stop: Some(tx),
            task: Some(task),
            interrupted,
            dir,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops it as SIGTERM would (aborting live runs with `reason`) and waits.
    pub async fn stop(mut self, reason: &str) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(reason.to_string());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send("test over".into());
        }
    }
}

/// A client with `token` as its bearer token.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// One SSE frame.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// `id:`.
    pub id: Option<u64>,
    /// `event:`.
    pub event: String,
    /// `data:` parsed as JSON.
    pub data: serde_json::Value,
}

/// Reads an SSE response to its end (the server closes it when the run is terminal).
pub async fn read_sse(res: reqwest::Response) -> Vec<Frame> {
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let mut frames = Vec::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let mut f = Frame::default();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        f.id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        f.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if !data.is_empty() {
                    f.data = serde_json::from_str(&data).unwrap();
                    frames.push(f);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(90), read)
        .await
        .expect("the event stream ended within 90 s");
    frames
}
