//! `GET /api/v1/schedules`: the catalog's scheduled experiments, when each fires next,
//! and what the scheduler started and skipped for it.

use actix_web::{HttpResponse, web};

use super::auth::Viewer;
use super::error::ApiError;
use super::state::ApiState;

/// Mounts the route under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/schedules", web::get().to(list));
}

async fn list(_: Viewer, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let live = state.live.clone();
    let list = web::block(move || {
        crate::application::schedule::scheduled(&*store, live.schedules(), chrono::Utc::now())
    })
    .await
    .map_err(|e| ApiError::internal("listing schedules", &e))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "schedules": list })))
}
