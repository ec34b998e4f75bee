//! A scripted HTTP/1.1 receiver on loopback: the stand-in for Slack (incoming webhooks and
//! `chat.postMessage`) and for the signed webhooks notifications are sent to. It answers
//! from a script (then 200), records every request, and lets the test's `Judge` check a
//! request's shape first — Slack's documented payload, a webhook's HMAC signature — and
//! refuse it as the real service would. The judges live in the tests: they are the
//! assertions, this is the plumbing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ports::tokio_listener;

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
        let listener = tokio_listener();
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
