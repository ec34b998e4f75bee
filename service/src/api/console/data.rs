//! The console's data routes under `/api/v1`, beside the API's own: the run's timeline
//! (the report's picture, alone), the run's active faults with their leases, and the
//! agents. They are API routes (bearer token, viewer) that any client may use.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::super::auth::Viewer;
use super::super::error::{ApiError, store_error};
use super::super::state::ApiState;
use super::cluster_agents::{AgentShown, list as list_cluster};
use crate::application::engine::inject::Injector;
use crate::application::report::{Report, timeline_svg};

/// Mounts the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/runs/{id}/timeline.svg", web::get().to(timeline))
        .route("/runs/{id}/active-faults", web::get().to(active))
        .route("/agents", web::get().to(agents));
}

async fn timeline(
    _: Viewer,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state.store.run(&id).map_err(|e| store_error(&id, e))?;
    let events = state.store.events(&id).map_err(|e| store_error(&id, e))?;
    let svg = timeline_svg(&Report::build(&row, events));
    Ok(super::settings::secure(
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "image/svg+xml; charset=utf-8"))
            .body(svg),
    ))
}

/// A fault of the run that is applied now (its row is deleted once recovered).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Active {
    fault: String,
    step: String,
    kind: String,
    executor: String,
    targets: Vec<String>,
    /// When its lease lapses unless renewed: past it, the executor recovers it alone.
    lease_expires: chrono::DateTime<chrono::Utc>,
}

async fn active(
    _: Viewer,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.store.run(&id).map_err(|e| store_error(&id, e))?;
    let all = state
        .store
        .active_faults()
        .map_err(|e| ApiError::internal("reading the active faults", &e))?;
    let faults: Vec<Active> = all
        .into_iter()
        .filter(|(run, _)| *run == *id)
        .map(|(_, f)| Active {
            executor: f.executor.name().to_string(),
            fault: f.fault,
            step: f.step,
            kind: f.kind,
            targets: f.targets,
            lease_expires: f.expires,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "faults": faults })))
}

async fn agents(_: Viewer, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    // In cluster mode the faults go to each node's agent: list those (the injector
    // below serves local targets only).
    if let Some(cluster) = state.live.cluster() {
        let shown = list_cluster(cluster.agents())
            .await
            .map_err(|e| ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, e))?;
        return Ok(HttpResponse::Ok().json(serde_json::json!({
            "agents": shown,
            "cluster": true,
        })));
    }
    let shown = match state.live.injector() {
        Injector::InProcess(agent) => AgentShown {
            name: "in-process agent".into(),
            node: None,
            location: "in-process".into(),
            healthy: true,
            version: Some(env!("CARGO_PKG_VERSION").into()),
            active_faults: agent.list().await.ok().map(|l| l.len()),
            error: None,
        },
        Injector::Remote(client) => match client.health().await {
            Ok(h) => AgentShown {
                name: "node agent".into(),
                node: None,
                location: client.url().to_string(),
                healthy: h.status == "ok",
                version: Some(h.version),
                active_faults: Some(h.active),
                error: None,
            },
            Err(e) => AgentShown {
                name: "node agent".into(),
                node: None,
                location: client.url().to_string(),
                healthy: false,
                version: None,
                active_faults: None,
                error: Some(e.to_string()),
            },
        },
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "agents": [shown],
        "cluster": false,
    })))
}
