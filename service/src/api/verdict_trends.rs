//! `GET /api/v1/verdict-trends` (viewer): each experiment's last verdicts, newest first,
//! from the store, whatever page of runs a client shows. The console draws them as a
//! strip per experiment.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::Viewer;
use super::error::ApiError;
use super::state::ApiState;
use crate::domain::RunState;

/// Mounts the route under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/verdict-trends", web::get().to(trends));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrendQuery {
    /// Verdicts per experiment, 1-100 (default 20).
    last: Option<String>,
}

/// One experiment's strip.
#[derive(Debug, Serialize)]
struct Trend {
    experiment: String,
    runs: Vec<Point>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Point {
    id: String,
    verdict: RunState,
    created_at: chrono::DateTime<chrono::Utc>,
}

fn last(text: Option<&str>) -> Result<u32, ApiError> {
    let Some(t) = text else { return Ok(20) };
    t.parse::<u32>()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| ApiError::bad_request(format!("last={t}: a whole number from 1 to 100")))
}

async fn trends(
    _: Viewer,
    state: web::Data<ApiState>,
    q: web::Query<TrendQuery>,
) -> Result<HttpResponse, ApiError> {
    let last = last(q.last.as_deref())?;
    let store = state.store.clone();
    let points = web::block(move || store.verdict_trends(last))
        .await
        .map_err(|e| ApiError::internal("reading the verdict trends", &e))?
        .map_err(|e| ApiError::internal("reading the verdict trends", &e))?;
    // The store answers by experiment, then newest first: one strip per run of names.
    let mut strips: Vec<Trend> = Vec::new();
    for p in points {
        if strips.last().is_none_or(|t| t.experiment != p.experiment) {
            strips.push(Trend {
                experiment: p.experiment.clone(),
                runs: Vec::new(),
            });
        }
        if let Some(t) = strips.last_mut() {
            t.runs.push(Point {
                id: p.id,
                verdict: p.verdict,
                created_at: p.created_at,
            });
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "last": last, "experiments": strips })))
}
