//! A node agent stand-in on loopback: it speaks the agent protocol, checks the bearer
//! token, records every call and answers as the agent would, without touching anything
//! (the container IDs of a mock cluster exist on no machine).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use faultline_agent::faults::{FaultId, FaultRecord, Recovered};
use faultline_agent::protocol::{ApplyRequest, ApplyResponse, RecoverResponse, RecoveredFault};

/// What the agent was asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `POST /v1/faults`.
    Apply(Box<ApplyRequest>),
    /// `POST /v1/faults/{id}/renew`.
    Renew(String),
    /// `DELETE /v1/faults/{id}`.
    Recover(String),
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// The `traceparent` header of each call, in call order.
    traceparents: Vec<Option<String>>,
    applied: Vec<FaultRecord>,
}

fn traceparent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A running fake agent.
pub struct FakeAgent {
    pub port: u16,
    state: Arc<Mutex<State>>,
    server: actix_web::dev::ServerHandle,
}

impl FakeAgent {
    /// Listens on 127.0.0.1 (a free port), wanting `token`.
    pub async fn start(token: &'static str) -> FakeAgent {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::from(state.clone());
        let listener = faultline_test_support::listener();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::Data::new(token))
                .route("/v1/faults", web::post().to(apply))
                .route("/v1/faults/{id}", web::delete().to(recover))
                .route("/v1/faults/{id}/renew", web::post().to(renew))
                .route("/v1/faults/{id}/observation", web::get().to(observe))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeAgent {
            port,
            state,
            server: handle,
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Every call so far with the `traceparent` header it carried.
    pub fn traced_calls(&self) -> Vec<(Call, Option<String>)> {
        let s = self.state.lock().unwrap();
        s.calls
            .iter()
            .cloned()
            .zip(s.traceparents.clone())
            .collect()
    }

    /// Stops it.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

fn authorized(req: &HttpRequest, token: &str) -> bool {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {token}").as_str())
}

async fn apply(
    req: HttpRequest,
    token: web::Data<&'static str>,
    state: web::Data<Mutex<State>>,
    body: web::Json<ApplyRequest>,
) -> HttpResponse {
    if !authorized(&req, &token) {
        return HttpResponse::Unauthorized().finish();
    }
    let body = body.into_inner();
    let records: Vec<FaultRecord> = body
        .targets
        .iter()
        .enumerate()
        .map(|(n, t)| FaultRecord {
            id: FaultId::new(format!("{}-{n}", body.id)).unwrap(),
            kind: body.kind.clone(),
            target: t.clone(),
            resolved: Default::default(),
            lease_until: chrono::Utc::now() + chrono::Duration::seconds(body.lease_seconds as i64),
        })
        .collect();
    let mut s = state.lock().unwrap();
    s.calls.push(Call::Apply(Box::new(body.clone())));
    s.traceparents.push(traceparent(&req));
    s.applied.extend(records.clone());
    HttpResponse::Created().json(ApplyResponse {
        id: body.id,
        records,
    })
}

async fn recover(
    req: HttpRequest,
    token: web::Data<&'static str>,
    state: web::Data<Mutex<State>>,
    id: web::Path<String>,
) -> HttpResponse {
    if !authorized(&req, &token) {
        return HttpResponse::Unauthorized().finish();
    }
    let id = id.into_inner();
    let mut s = state.lock().unwrap();
    s.calls.push(Call::Recover(id.clone()));
    s.traceparents.push(traceparent(&req));
    let prefix = format!("{id}-");
    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut s.applied)
        .into_iter()
        .partition(|r| r.id.as_str().starts_with(&prefix));
    s.applied = kept;
    let recovered = gone
        .into_iter()
        .map(|r| RecoveredFault {
            id: r.id,
            kind: r.kind.name().into(),
            outcome: Recovered::Removed,
        })
        .collect();
    HttpResponse::Ok().json(RecoverResponse { recovered })
}

async fn renew(
    req: HttpRequest,
    token: web::Data<&'static str>,
    state: web::Data<Mutex<State>>,
    id: web::Path<String>,
) -> HttpResponse {
    if !authorized(&req, &token) {
        return HttpResponse::Unauthorized().finish();
    }
    let mut s = state.lock().unwrap();
    s.calls.push(Call::Renew(id.into_inner()));
    s.traceparents.push(traceparent(&req));
    HttpResponse::Ok().json(serde_json::json!({ "renewed": [], "leaseUntil": chrono::Utc::now() }))
}

/// Reads back what it applied: every record of the request is "in effect" (a real agent
/// reads the kernel; the engine's verification only needs the answer's shape). Not a
/// `Call`: tests assert what was applied and recovered.
async fn observe(
    req: HttpRequest,
    token: web::Data<&'static str>,
    state: web::Data<Mutex<State>>,
    id: web::Path<String>,
) -> HttpResponse {
    if !authorized(&req, &token) {
        return HttpResponse::Unauthorized().finish();
    }
    let prefix = format!("{}-", id.into_inner());
    let s = state.lock().unwrap();
    let observations: Vec<_> = s
        .applied
        .iter()
        .filter(|r| r.id.as_str().starts_with(&prefix))
        .map(|r| faultline_agent::protocol::ObservedFault {
            id: r.id.clone(),
            kind: r.kind.name().into(),
            target: r.target.to_string(),
            effective: true,
            evidence: "applied (fake agent)".into(),
        })
        .collect();
    if observations.is_empty() {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok().json(faultline_agent::protocol::ObserveResponse { observations })
}
