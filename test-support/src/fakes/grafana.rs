//! A stand-in for Grafana's annotation HTTP API on loopback (no Grafana server can be
//! installed here). It checks every request against Grafana's documentation
//! (docs/sources/developers/http_api/annotations.md: "Create Annotation", "Patch
//! Annotation"): path, method, `Authorization: Bearer`, JSON content type, field names
//! and types, and answers as Grafana does: `{"message":"Annotation added","id":N}`,
//! `{"message":"Annotation patched"}`, 401 on a wrong token, 404 for an unknown id, 400
//! for a malformed body, 500 when told to fail. Anything off the documentation is also
//! recorded as a violation the test asserts is empty.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::ports::{Reserved, tokio_listener};

/// One stored annotation, as Grafana would keep it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// `dashboardUID`.
    pub dashboard_uid: Option<String>,
    /// `time`, ms since the epoch.
    pub time: i64,
    /// `timeEnd`, ms since the epoch (a region).
    pub time_end: Option<i64>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `text`.
    pub text: String,
}

/// What the fake holds and saw.
#[derive(Default)]
pub struct State {
    /// Annotations by id.
    pub annotations: BTreeMap<i64, Stored>,
    /// Requests off Grafana's documentation.
    pub violations: Vec<String>,
    /// (method, path, status) of every request.
    pub requests: Vec<(String, String, u16)>,
    next_id: i64,
}

/// A running fake; dropping it stops accepting connections and ends open ones, as a
/// Grafana that went away.
pub struct FakeGrafana {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// What it holds and saw.
    pub state: Arc<Mutex<State>>,
    /// While true, every authorized request is answered 500 (a Grafana failing to save).
    pub fail: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGrafana {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGrafana {
    /// Listens on a loopback port of its own and accepts `token` only; must be called
    /// inside a runtime.
    pub fn start(token: &str) -> FakeGrafana {
        FakeGrafana::serve(tokio_listener(), token)
    }

    /// Listens on `port`, which refused connections until now (a Grafana that was down and
    /// comes back on the address faultline was given), and accepts `token` only.
    pub fn start_on(port: Reserved, token: &str) -> FakeGrafana {
        FakeGrafana::serve(port.listen_tokio(), token)
    }

    fn serve(listener: TcpListener, token: &str) -> FakeGrafana {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            next_id: 1,
            ..State::default()
        }));
        let fail = Arc::new(AtomicBool::new(false));
        let (st, fl, tk) = (state.clone(), fail.clone(), token.to_string());
        let task = tokio::spawn(async move {
            let mut conns = Vec::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (st, fl, tk) = (st.clone(), fl.clone(), tk.clone());
                conns.push(AbortOnDrop(tokio::spawn(async move {
                    let _ = serve_conn(sock, st, fl, tk).await;
                })));
            }
        });
        FakeGrafana {
            port,
            state,
            fail,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The annotations it holds, by id.
    pub fn annotations(&self) -> Vec<Stored> {
        self.state
            .lock()
            .unwrap()
            .annotations
            .values()
            .cloned()
            .collect()
    }

    /// Requests off Grafana's documentation.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// The status of every answer, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|r| r.2)
            .collect()
    }
}

/// Connection tasks end with the server (a dropped fake must look like a dead Grafana).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve_conn(
    sock: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    fail: Arc<AtomicBool>,
    token: String,
) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut request_line = String::new();
        if r.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body).await?;
        let (status, answer) = handle(&state, &fail, &token, &method, &path, &headers, &body);
        state.lock().unwrap().requests.push((method, path, status));
        let text = answer.to_string();
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        let resp = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        w.write_all(resp.as_bytes()).await?;
    }
}

fn violation(state: &Mutex<State>, what: String) -> (u16, Value) {
    state.lock().unwrap().violations.push(what.clone());
    (400, json!({ "message": what }))
}

/// A documented field and a check of its JSON type.
type Field = (&'static str, fn(&Value) -> bool);

/// Field name -> JSON type check, per the documented request bodies.
fn check_fields(body: &Value, allowed: &[Field]) -> Result<(), String> {
    let Some(obj) = body.as_object() else {
        return Err(format!("body is not a JSON object: {body}"));
    };
    for (k, v) in obj {
        match allowed.iter().find(|(name, _)| name == k) {
            None => return Err(format!("field {k} is not in Grafana's API")),
            Some((_, ok)) if !ok(v) => return Err(format!("field {k} has the wrong type: {v}")),
            Some(_) => {}
        }
    }
    Ok(())
}

fn is_int(v: &Value) -> bool {
    v.is_i64()
}
fn is_str(v: &Value) -> bool {
    v.is_string()
}
fn is_tags(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}
fn tags(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn handle(
    state: &Mutex<State>,
    fail: &AtomicBool,
    token: &str,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> (u16, Value) {
    if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {token}")) {
        return (401, json!({ "message": "Unauthorized" }));
    }
    if fail.load(Ordering::SeqCst) {
        return (500, json!({ "message": "Failed to save annotation" }));
    }
    if !headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return violation(
            state,
            format!("{method} {path} without a JSON content type"),
        );
    }
    let Ok(body): Result<Value, _> = serde_json::from_slice(body) else {
        return violation(state, format!("{method} {path}: body is not JSON"));
    };
    match (method, path) {
        ("POST", "/api/annotations") => {
            let allowed: &[Field] = &[
                ("dashboardUID", is_str),
                ("dashboardId", is_int),
                ("panelId", is_int),
                ("time", is_int),
                ("timeEnd", is_int),
                ("tags", is_tags),
                ("text", is_str),
            ];
            if let Err(e) = check_fields(&body, allowed) {
                return violation(state, format!("POST {path}: {e}"));
            }
            // Grafana requires text (`text` "field is required" in its validation).
            let Some(text) = body["text"].as_str() else {
                return violation(state, format!("POST {path}: text is required"));
            };
            let mut st = state.lock().unwrap();
            let id = st.next_id;
            st.next_id += 1;
            st.annotations.insert(
                id,
                Stored {
                    dashboard_uid: body["dashboardUID"].as_str().map(String::from),
                    time: body["time"].as_i64().unwrap_or(0),
                    time_end: body["timeEnd"].as_i64(),
                    tags: tags(&body["tags"]),
                    text: text.to_string(),
                },
            );
            (200, json!({ "message": "Annotation added", "id": id }))
        }
        ("PATCH", p) if p.starts_with("/api/annotations/") => {
            let Ok(id) = p["/api/annotations/".len()..].parse::<i64>() else {
                return violation(state, format!("PATCH {p}: the id is not an integer"));
            };
            let allowed: &[Field] = &[
                ("time", is_int),
                ("timeEnd", is_int),
                ("tags", is_tags),
                ("text", is_str),
                ("data", Value::is_object),
            ];
            if let Err(e) = check_fields(&body, allowed) {
                return violation(state, format!("PATCH {p}: {e}"));
            }
            let mut st = state.lock().unwrap();
            let Some(a) = st.annotations.get_mut(&id) else {
                return (404, json!({ "message": "Annotation not found" }));
            };
            if let Some(t) = body["time"].as_i64() {
                a.time = t;
            }
            if let Some(t) = body["timeEnd"].as_i64() {
                a.time_end = Some(t);
            }
            if body.get("tags").is_some() {
                a.tags = tags(&body["tags"]);
            }
            if let Some(t) = body["text"].as_str() {
                a.text = t.to_string();
            }
            (200, json!({ "message": "Annotation patched" }))
        }
        _ => violation(
            state,
            format!("{method} {path} is not an annotation endpoint"),
        ),
    }
}
