//! A faultline service on a loopback port with the in-process agent in a temp state dir,
//! the test tokens, and the ways a test asks it about runs. Stopped by a `Drop`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::api::{Auth, ServeError, Service};
use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::RunOptions;
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_test_support::{client, listener};

/// `GET url` as the viewer, the body as JSON.
pub async fn viewer_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    json_as(url, VIEWER).await
}

/// `GET url` as the admin (the audit log is the admins'), the body as JSON.
pub async fn admin_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    json_as(url, ADMIN).await
}

async fn json_as(url: impl reqwest::IntoUrl, token: &str) -> serde_json::Value {
    client()
        .get(url)
        .bearer_auth(token)
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

    /// [`TestServer::start_with`] over a fresh temp dir: a test's own options and state
    /// (a veto, change windows, a scheduler) on an otherwise standard server.
    pub async fn start_fresh_with(
        options: impl FnOnce(&mut RunOptions, &Arc<Store>),
        install: impl FnOnce(&Service),
    ) -> TestServer {
        TestServer::start_with(Arc::new(tempfile::tempdir().unwrap()), options, install).await
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
        let listener = listener();
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
