//! A local stand-in for GitLab's REST API v4 (no GitLab can run here): the commit-status
//! and merge-request-note endpoints faultline calls, checked against GitLab's API
//! documentation — the `PRIVATE-TOKEN` header, the paths, the JSON fields and their
//! allowed values — and answered with GitLab's shapes, including its errors (401, the
//! 400 "Cannot transition status", 429 with Retry-After, 5xx). Every request is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::ports::listener;

/// The token the fake accepts.
pub const TOKEN: &str = "glpat-faultline-test-token";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// JSON body (Null when none).
    pub body: Value,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    /// Statuses (HTTP) to answer the next status posts with, before answering normally.
    status_failures: VecDeque<u16>,
    /// (project, sha, name) -> current state, to refuse what GitLab refuses.
    statuses: Vec<(String, String, String, String)>,
    notes: Vec<(u64, String)>,
    next_note: u64,
    problems: Vec<String>,
}

/// The fake, serving until dropped.
pub struct FakeGitlab {
    /// `http://127.0.0.1:PORT` (what `api.url` is set to).
    pub base: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeGitlab {
    fn drop(&mut self) {
        let h = self.handle.clone();
        tokio::spawn(async move { h.stop(false).await });
    }
}

const STATES: [&str; 6] = [
    "pending", "running", "success", "failed", "canceled", "skipped",
];

fn authorized(req: &HttpRequest) -> bool {
    req.headers()
        .get("PRIVATE-TOKEN")
        .and_then(|v| v.to_str().ok())
        == Some(TOKEN)
}

fn record(st: &Mutex<State>, req: &HttpRequest, body: &web::Bytes) -> Value {
    let v: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or(Value::String("<not json>".into()))
    };
    st.lock().unwrap().seen.push(Seen {
        method: req.method().to_string(),
        path: req.uri().to_string(),
        body: v.clone(),
    });
    v
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({ "message": "401 Unauthorized" }))
}

async fn post_status(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    st: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let v = record(&st, &req, &body);
    if !authorized(&req) {
        return unauthorized();
    }
    let (project, sha) = path.into_inner();
    let mut s = st.lock().unwrap();
    if let Some(code) = s.status_failures.pop_front() {
        let mut r = HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap());
        if code == 429 {
            r.insert_header(("Retry-After", "1"));
        }
        return r.json(json!({ "message": format!("{code} fake outage") }));
    }
    // GitLab: `state` is required and one of six; `name` defaults to "default".
    let state = v["state"].as_str().unwrap_or("");
    if !STATES.contains(&state) {
        s.problems.push(format!("status with state {state:?}"));
        return HttpResponse::BadRequest()
            .json(json!({ "error": "state does not have a valid value" }));
    }
    if sha.len() != 40 {
        s.problems.push(format!("status on a short sha {sha}"));
    }
    for f in v
        .as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if ![
            "state",
            "name",
            "target_url",
            "description",
            "pipeline_id",
            "ref",
            "coverage",
            "context",
        ]
        .contains(&f.as_str())
        {
            s.problems.push(format!("unknown status field {f}"));
        }
    }
    let name = v["name"].as_str().unwrap_or("default").to_string();
    let current = s
        .statuses
        .iter()
        .position(|(p, h, n, _)| *p == project && *h == sha && *n == name);
    if let Some(i) = current {
        let from = s.statuses[i].3.clone();
        let terminal = ["success", "failed", "canceled", "skipped"].contains(&from.as_str());
        if from == state || (terminal && state != "pending") {
            return HttpResponse::BadRequest().json(
                json!({ "message": format!("Cannot transition status via :{state} from :{from}") }),
            );
        }
        s.statuses[i].3 = state.to_string();
    } else {
        s.statuses
            .push((project, sha.clone(), name.clone(), state.to_string()));
    }
    HttpResponse::Created().json(json!({
        "id": s.statuses.len(), "sha": sha, "name": name, "status": state,
        "target_url": v["target_url"], "description": v["description"],
        "ref": v["ref"], "author": { "username": "faultline-bot" },
    }))
}

async fn list_notes(req: HttpRequest, st: web::Data<Arc<Mutex<State>>>) -> HttpResponse {
    record(&st, &req, &web::Bytes::new());
    if !authorized(&req) {
        return unauthorized();
    }
    let s = st.lock().unwrap();
    let notes: Vec<Value> = s
        .notes
        .iter()
        .map(|(id, body)| json!({ "id": id, "body": body, "system": false, "noteable_type": "MergeRequest", "author": { "username": "faultline-bot" } }))
        .collect();
    HttpResponse::Ok()
        .insert_header(("X-Total", notes.len().to_string()))
        .insert_header(("X-Next-Page", ""))
        .json(notes)
}

async fn create_note(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let v = record(&st, &req, &body);
    if !authorized(&req) {
        return unauthorized();
    }
    let Some(text) = v["body"].as_str() else {
        return HttpResponse::BadRequest().json(json!({ "error": "body is missing" }));
    };
    let mut s = st.lock().unwrap();
    s.next_note += 1;
    let id = 1000 + s.next_note;
    s.notes.push((id, text.to_string()));
    HttpResponse::Created().json(json!({ "id": id, "body": text, "noteable_type": "MergeRequest" }))
}

async fn update_note(
    req: HttpRequest,
    path: web::Path<(String, u64, u64)>,
    body: web::Bytes,
    st: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let v = record(&st, &req, &body);
    if !authorized(&req) {
        return unauthorized();
    }
    let (_, _, note) = path.into_inner();
    let mut s = st.lock().unwrap();
    match s.notes.iter_mut().find(|(id, _)| *id == note) {
        Some(n) => {
            n.1 = v["body"].as_str().unwrap_or_default().to_string();
            HttpResponse::Ok().json(json!({ "id": note, "body": n.1 }))
        }
        None => HttpResponse::NotFound().json(json!({ "message": "404 Not found" })),
    }
}

impl FakeGitlab {
    /// Starts it on a loopback port of its own; must be called inside a runtime.
    pub fn start() -> FakeGitlab {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let listener = listener();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/api/v4/projects/{id}/statuses/{sha}",
                    web::post().to(post_status),
                )
                .route(
                    "/api/v4/projects/{id}/merge_requests/{iid}/notes",
                    web::get().to(list_notes),
                )
                .route(
                    "/api/v4/projects/{id}/merge_requests/{iid}/notes",
                    web::post().to(create_note),
                )
                .route(
                    "/api/v4/projects/{id}/merge_requests/{iid}/notes/{note}",
                    web::put().to(update_note),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeGitlab {
            base,
            state,
            handle,
        }
    }

    /// Answers the next status posts with these HTTP statuses first (an outage).
    pub fn fail_statuses(&self, codes: &[u16]) {
        self.state.lock().unwrap().status_failures.extend(codes);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The state GitLab holds for status `name` on `sha`.
    pub fn status(&self, sha: &str, name: &str) -> Option<String> {
        let s = self.state.lock().unwrap();
        s.statuses
            .iter()
            .find(|(_, h, n, _)| h == sha && n == name)
            .map(|t| t.3.clone())
    }

    /// The notes on the (single) merge request.
    pub fn notes(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .notes
            .iter()
            .map(|n| n.1.clone())
            .collect()
    }

    /// Requests that broke GitLab's documented rules.
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }
}
