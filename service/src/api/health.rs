//! `/healthz` (the process answers), `/readyz` (the store answers), `/metrics`
//! (Prometheus text). None needs a token: probes and Prometheus carry no secret, and
//! nothing here names a run or a target.

use actix_web::{HttpResponse, web};

use super::state::ApiState;

/// Mounts the routes at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(state: web::Data<ApiState>) -> HttpResponse {
    match state.store.list_runs(1) {
        Ok(_) => HttpResponse::Ok()
            .content_type("text/plain")
            .body(ready_text(&state)),
        Err(e) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(format!(
                "store not reachable: {}\n",
                faultline_agent::agent::error_chain(&e)
            )),
    }
}

/// `ready`, and in cluster mode whether this replica holds the leader Lease (readiness
/// does not depend on it: every replica serves the API).
fn ready_text(state: &ApiState) -> String {
    match state.live.cluster().and_then(|c| c.leads()) {
        Some(true) => "ready\nleader: this replica\n".into(),
        Some(false) => "ready\nleader: another replica\n".into(),
        None => "ready\n".into(),
    }
}

async fn metrics(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics_text())
}
