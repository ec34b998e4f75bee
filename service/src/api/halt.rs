//! `/api/v1/emergency-stop`: one switch that aborts every live run and refuses new ones
//! from every trigger (API, webhook, schedule) until an admin releases it. The switch is
//! in the store, so a restart does not release it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{Admin, Operator, Viewer};
use super::error::ApiError;
use super::state::ApiState;

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
    _: Operator,
    req: actix_web::HttpRequest,
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
    // Who: the caller's name (never the token), so the console's banner can say it.
    let actor = super::auth::Auth::caller(&req).map_or_else(|| "api".into(), |c| c.name);
    // Stored first: a run starting between the two steps is refused, not missed.
    let h = state
        .store
        .halt(&reason, &actor)
        .map_err(|e| ApiError::internal("engaging the emergency stop", &e))?;
    let aborted = state
        .live
        .abort_live(&format!("emergency stop: {}", h.reason));
    state.metrics.emergency_stop(true);
    tracing::warn!(reason = %h.reason, aborted = aborted.len(), "emergency stop engaged");
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "engaged": true, "halt": h, "aborted": aborted })))
}

async fn release(_: Admin, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let was = state
        .store
        .release_halt()
        .map_err(|e| ApiError::internal("releasing the emergency stop", &e))?;
    state.metrics.emergency_stop(false);
    if was.is_some() {
        tracing::warn!("emergency stop released");
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "engaged": false, "released": was })))
}
