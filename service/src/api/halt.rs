//! `/api/v1/emergency-stop`: one switch that aborts every live run and refuses new ones
//! from every trigger (API, webhook, schedule) until an admin releases it. The switch is
//! in the store, so a restart does not release it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{Admin, Operator, Viewer};
use super::error::ApiError;
use super::state::ApiState;
use crate::domain::{AuditAction, NewAudit};

/// Mounts the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/emergency-stop", web::get().to(status))
        .route("/emergency-stop", web::post().to(engage))
        .route("/emergency-stop", web::delete().to(release));
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    reason: Option<String>,
}

async fn status(_: Viewer, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let h = state
        .store
        .halted()
        .map_err(|e| ApiError::internal("reading the emergency stop", &e))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "engaged": h.is_some(), "halt": h })))
}

async fn engage(
    Operator(caller): Operator,
    state: web::Data<ApiState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: Body = if body.iter().all(u8::is_ascii_whitespace) {
        Body::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("emergency-stop body: {e}")))?
    };
    let reason = body
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "emergency stop".into());
    let actor = caller.actor();
    // Stored first: a run starting between the two steps is refused, not missed.
    let h = state
        .store
        .halt(&reason, &actor.to_string())
        .map_err(|e| ApiError::internal("engaging the emergency stop", &e))?;
    let aborted = state
        .live
        .abort_live(&format!("emergency stop: {}", h.reason));
    state.metrics.emergency_stop(true);
    state.live.audit().record(
        NewAudit::ok(actor, AuditAction::EmergencyStop, "emergency-stop").ended(
            crate::domain::AuditOutcome::Ok,
            format!("{}; aborted {}", h.reason, aborted.len()),
        ),
    );
    tracing::warn!(reason = %h.reason, aborted = aborted.len(), "emergency stop engaged");
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "engaged": true, "halt": h, "aborted": aborted })))
}

async fn release(
    Admin(caller): Admin,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let was = state
        .store
        .release_halt()
        .map_err(|e| ApiError::internal("releasing the emergency stop", &e))?;
    state.metrics.emergency_stop(false);
    let attempt = NewAudit::ok(
        caller.actor(),
        AuditAction::EmergencyResume,
        "emergency-stop",
    );
    state.live.audit().record(match &was {
        Some(h) => attempt.ended(
            crate::domain::AuditOutcome::Ok,
            format!("was engaged by {}: {}", h.actor, h.reason),
        ),
        None => attempt.ended(crate::domain::AuditOutcome::Ok, "was not engaged"),
    });
    if was.is_some() {
        tracing::warn!("emergency stop released");
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "engaged": false, "released": was })))
}
