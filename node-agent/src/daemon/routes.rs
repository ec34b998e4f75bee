//! Route handlers: decode, call the agent, map its errors to statuses; with a tracer, a
//! span per fault call under the caller's `traceparent`.

use actix_web::{HttpRequest, HttpResponse, web};
use faultline_exporter::{AgentCall, AgentSpan, AgentTracer, TRACEPARENT, TraceParent};
use serde::de::DeserializeOwned;

use super::auth::Authorized;
use super::error::ApiError;
use crate::agent::{Agent, AgentError};
use crate::error::error_chain;
use crate::faults::FaultId;
use crate::protocol::{
    ApplyRequest, ApplyResponse, Health, ListResponse, ObserveResponse, RecoverResponse,
    RenewRequest, RenewResponse,
};

/// Mounts every route on an actix app (the app must carry `Data<Agent>` and `Data<Auth>`;
/// `Data<AgentTracer>` is optional).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .service(
            web::scope("/v1")
                .route("/faults", web::post().to(apply))
                .route("/faults", web::get().to(list))
                .route("/faults/{id}", web::delete().to(recover))
                .route("/faults/{id}/renew", web::post().to(renew))
                .route("/faults/{id}/observation", web::get().to(observe)),
        );
}

/// Decodes a JSON body, naming the field that is wrong (`kind.networkDelay.latency: ...`).
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::bad_request(format!("invalid request body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid `{path}`: {inner}"))
        }
    })
}

fn fault_id(raw: &str) -> Result<FaultId, ApiError> {
    FaultId::new(raw)
        .map_err(|reason| ApiError::bad_request(format!("invalid `id` in path: {reason}")))
}

/// The span of one fault call, when the daemon exports spans.
fn span(
    http: &HttpRequest,
    tracer: Option<&web::Data<AgentTracer>>,
    call: AgentCall,
    fault: &FaultId,
) -> Option<AgentSpan> {
    let parent = http
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    tracer.map(|t| t.start(call, parent.as_ref(), fault.as_str()))
}

/// Ends `span` with the call's outcome and passes the outcome on.
fn finish<T>(
    span: Option<AgentSpan>,
    result: Result<T, AgentError>,
    attrs: impl FnOnce(&mut AgentSpan, &T),
) -> Result<T, AgentError> {
    if let Some(mut s) = span {
        match &result {
            Ok(v) => {
                attrs(&mut s, v);
                s.ok();
            }
            Err(e) => s.failed(&error_chain(e)),
        }
    }
    result
}

async fn apply(
    _: Authorized,
    http: HttpRequest,
    agent: web::Data<Agent>,
    tracer: Option<web::Data<AgentTracer>>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let req: ApplyRequest = decode(&body)?;
    let id = req.id.clone();
    let mut span = span(&http, tracer.as_ref(), AgentCall::Apply, &id);
    if let Some(s) = span.as_mut() {
        s.text("faultline.fault.kind", req.kind.name());
        s.count("faultline.fault.targets", req.targets.len());
    }
    let records = finish(span, agent.apply(req).await, |s, r| {
        s.count("faultline.agent.records", r.len());
    })?;
    Ok(HttpResponse::Ok().json(ApplyResponse { id, records }))
}

async fn renew(
    _: Authorized,
    http: HttpRequest,
    agent: web::Data<Agent>,
    tracer: Option<web::Data<AgentTracer>>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = fault_id(&path)?;
    let req: RenewRequest = decode(&body)?;
    let span = span(&http, tracer.as_ref(), AgentCall::Renew, &id);
    let (renewed, lease_until) = finish(span, agent.renew(id, req.lease_seconds).await, |s, r| {
        s.count("faultline.agent.records", r.0.len());
    })?;
    Ok(HttpResponse::Ok().json(RenewResponse {
        renewed,
        lease_until,
    }))
}

async fn recover(
    _: Authorized,
    http: HttpRequest,
    agent: web::Data<Agent>,
    tracer: Option<web::Data<AgentTracer>>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = fault_id(&path)?;
    let span = span(&http, tracer.as_ref(), AgentCall::Recover, &id);
    let recovered = finish(span, agent.recover(id).await, |s, r| {
        s.count("faultline.agent.records", r.len());
    })?;
    Ok(HttpResponse::Ok().json(RecoverResponse { recovered }))
}

async fn observe(
    _: Authorized,
    agent: web::Data<Agent>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = fault_id(&path)?;
    Ok(HttpResponse::Ok().json(ObserveResponse {
        observations: agent.observe(id).await?,
    }))
}

async fn list(_: Authorized, agent: web::Data<Agent>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(ListResponse {
        faults: agent.list().await?,
    }))
}

async fn healthz(agent: web::Data<Agent>) -> Result<HttpResponse, ApiError> {
    let active = agent.list().await?.len();
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        active,
    }))
}

async fn metrics(agent: web::Data<Agent>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(agent.metrics().encode_text())
}
