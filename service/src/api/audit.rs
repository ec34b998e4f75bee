//! `GET /api/v1/audit`: the audit log, newest first, for admins only. Read-only: no other
//! verb is mounted on it, and the store port has no way to change a record.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::auth::Admin;
use super::body::absolute;
use super::error::ApiError;
use super::state::ApiState;
use crate::application::ports::AuditQuery;
use crate::domain::{AuditAction, AuditOutcome};

/// Mounts the route under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Page size, 1-1000 (default 100).
    limit: Option<u32>,
    /// Only this actor's records (its name).
    actor: Option<String>,
    /// Only this action (`run.start`, `api.access`, ...).
    action: Option<String>,
    /// Only records about this object.
    object: Option<String>,
    /// Only this outcome: ok, refused, failed.
    outcome: Option<String>,
    /// At or after this time (RFC 3339).
    since: Option<String>,
    /// Before this time (RFC 3339).
    until: Option<String>,
    /// The page after this record id (the previous page's `next` has it).
    before: Option<i64>,
}

fn time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.to_utc())
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "{field}={t}: not an RFC 3339 time like 2026-12-07T09:00:00Z ({e})"
                ))
            })
    })
    .transpose()
}

fn word<T>(
    field: &str,
    text: Option<&str>,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Result<Option<T>, ApiError> {
    text.map(|t| {
        parse(t).ok_or_else(|| {
            ApiError::bad_request(format!("{field}={t}: expected one of {}", all.join(", ")))
        })
    })
    .transpose()
}

async fn list(
    _: Admin,
    req: HttpRequest,
    state: web::Data<ApiState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let actions: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    let outcomes: Vec<&str> = AuditOutcome::ALL.iter().map(|o| o.as_str()).collect();
    let query = AuditQuery {
        actor: q.actor.clone(),
        action: word("action", q.action.as_deref(), AuditAction::parse, &actions)?,
        object: q.object.clone(),
        outcome: word(
            "outcome",
            q.outcome.as_deref(),
            AuditOutcome::parse,
            &outcomes,
        )?,
        since: time("since", q.since.as_deref())?,
        until: time("until", q.until.as_deref())?,
        before: q.before,
        limit,
    };
    let store = state.store.clone();
    let page = query.clone();
    let records = web::block(move || store.find_audit(&page))
        .await
        .map_err(|e| ApiError::internal("reading the audit log", &e))?
        .map_err(|e| ApiError::internal("reading the audit log", &e))?;
    let next = (records.len() == limit as usize).then(|| {
        // reqwest's URL type escapes the filter values (actor names may hold anything).
        let mut url = reqwest::Url::parse(&absolute(&req, "/api/v1/audit")).unwrap_or_else(|_| {
            reqwest::Url::parse("http://localhost/api/v1/audit").expect("a URL")
        });
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("limit", &limit.to_string());
        pairs.append_pair("before", &records[records.len() - 1].id.to_string());
        for (k, v) in [
            ("actor", &q.actor),
            ("action", &q.action),
            ("object", &q.object),
            ("outcome", &q.outcome),
            ("since", &q.since),
            ("until", &q.until),
        ] {
            if let Some(v) = v {
                pairs.append_pair(k, v);
            }
        }
        drop(pairs);
        url.to_string()
    });
    Ok(HttpResponse::Ok().json(serde_json::json!({ "records": records, "next": next })))
}
