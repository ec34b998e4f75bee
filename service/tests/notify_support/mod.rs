//! Fixtures of the notification tests: finished runs in a real store, a scripted HTTP
//! receiver on loopback (Slack and webhook stand-in), and helpers to wait for outcomes.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use faultline::application::ports::observe::{RunInfo, RunObserver};
use faultline::application::ports::{NotificationRow, NotificationStatus};
use faultline::domain::{RunEvent, RunState};
use faultline::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Writes a finished run like the engine does (a check that failed during a fault), then
/// tells `observer` about the terminal event, as the engine does after persisting it.
pub fn finish_run(
    store: &Store,
    observer: &dyn RunObserver,
    run: &str,
    experiment: &str,
    spec_json: &str,
    verdict: RunState,
) {
    store.create_run(run, experiment, spec_json).unwrap();
    let go = |to| RunEvent::StateChanged {
        to,
        reason: String::new(),
    };
    let check = |phase: &str, value: f64, ok| RunEvent::CheckEvaluated {
        check: "availability".into(),
        phase: phase.into(),
        value: Some(value),
        expect: ">= 0.99".into(),
        ok,
        error: None,
    };
    for ev in [
        go(RunState::CheckingBefore),
        check("before", 1.0, true),
        go(RunState::Injecting),
        go(RunState::Observing),
        check("during", 0.42, verdict == RunState::Passed),
        go(RunState::Recovering),
        go(RunState::CheckingAfter),
        check("after", 1.0, true),
    ] {
        store.record(run, &ev).unwrap();
    }
    let end = RunEvent::StateChanged {
        to: verdict,
        reason: format!("test verdict {verdict}"),
    };
    store.record(run, &end).unwrap();
    let info = RunInfo {
        id: run.into(),
        experiment: experiment.into(),
        gitlab: None,
    };
    observer.observe(&info, &end, Utc::now());
}

/// The experiment JSON the store keeps, with only what the observer reads: `notify`.
pub fn spec_with_notify(notify: serde_json::Value) -> String {
    serde_json::json!({ "spec": { "notify": notify } }).to_string()
}

/// Polls `store` until every notification of `run` is no longer pending (30 s at most).
pub async fn settled(store: &Store, run: &str) -> Vec<NotificationRow> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = store.notifications(run).unwrap();
        if !rows.is_empty() && rows.iter().all(|r| r.status != NotificationStatus::Pending) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "notifications of {run} still pending after 30 s: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    /// Path.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// The status it was answered with.
    pub status: u16,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the receiver answers: status, extra headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// Decides the answer to a request (checks its shape); `None` = the next scripted one.
pub type Judge = Box<dyn Fn(&Request) -> Option<Answer> + Send + Sync>;

/// An HTTP/1.1 receiver on a loopback port: answers from a script (then 200), records
/// every request. Stops when dropped.
pub struct Receiver {
    /// Base URL.
    pub url: String,
    /// Requests so far.
    pub requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts it. `judge` may refuse a request (e.g. a malformed payload) before the
    /// script is consulted.
    pub async fn start(script: Vec<Answer>, judge: Judge) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let judge = Arc::new(judge);
        let reqs = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (reqs, script, judge) = (reqs.clone(), script.clone(), judge.clone());
                tokio::spawn(async move {
                    let Some(mut req) = read_request(&mut sock).await else {
                        return;
                    };
                    let (status, headers, body) = judge(&req)
                        .or_else(|| script.lock().unwrap().pop_front())
                        .unwrap_or((200, Vec::new(), "ok".into()));
                    req.status = status;
                    reqs.lock().unwrap().push(req);
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&body);
                    let _ = sock.write_all(out.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Receiver {
            url,
            requests,
            task,
        }
    }

    /// The requests so far.
    pub fn got(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        path,
        headers,
        body,
        at: Instant::now(),
        status: 0,
    })
}
