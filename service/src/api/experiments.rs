//! `/api/v1/experiments`: the catalog webhooks (and people) run by name. A stored
//! experiment is validated like `faultline validate` (422 naming every field and line)
//! before it is written; `POST .../{name}/runs` starts one.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::auth::{Operator, Viewer};
use super::body::{absolute, read_body};
use super::error::ApiError;
use super::state::ApiState;
use crate::application::catalog;
use crate::application::catalog::CatalogError;
use crate::application::identity::Caller;
use crate::domain::{AuditAction, AuditOutcome, NewAudit};

/// Mounts the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/experiments", web::post().to(create))
        .route("/experiments", web::get().to(list))
        .route("/experiments/{name}", web::get().to(get))
        .route("/experiments/{name}", web::delete().to(delete))
        .route("/experiments/{name}/runs", web::post().to(run));
}

/// An experiment as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    name: String,
    source: String,
    updated_at: chrono::DateTime<chrono::Utc>,
    url: String,
    /// The document as stored (templates unfilled).
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::Invalid(errs) => {
            let mut a = ApiError::invalid_spec(&errs);
            a.status = StatusCode::UNPROCESSABLE_ENTITY;
            a
        }
        CatalogError::Template(_) | CatalogError::NotOne(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        CatalogError::NoSuch(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
        other => ApiError::internal("the experiment catalog", &other),
    }
}

/// Refuses a CI job's change to the catalog: its grants bound what *it* starts, but a
/// catalog entry is also run by webhooks and schedules with no such bound, so a job that
/// could rewrite one could reach namespaces its policy does not give it.
/// The refusal is audited as `action` on `object`.
fn not_a_ci_job(
    state: &ApiState,
    caller: &Caller,
    action: AuditAction,
    object: &str,
) -> Result<(), ApiError> {
    let Some(job) = caller.ci_job() else {
        return Ok(());
    };
    let refusal = ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "a CI job's ID token ({}) may start catalog experiments, not change the catalog",
            job.project_path
        ),
    );
    state.live.audit().record(
        NewAudit::ok(caller.actor(), action, object)
            .ended(AuditOutcome::Refused, refusal.error.clone()),
    );
    Err(refusal)
}

async fn create(
    Operator(caller): Operator,
    req: HttpRequest,
    state: web::Data<ApiState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    not_a_ci_job(&state, &caller, AuditAction::ExperimentPut, "")?;
    let actor = caller.actor();
    let body = read_body(payload).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?
        .to_string();
    let store = state.store.clone();
    let stored = web::block(move || catalog::put(&*store, &text, "api"))
        .await
        .map_err(|e| ApiError::internal("storing the experiment", &e))?;
    let (name, created) = match stored {
        Ok(done) => done,
        Err(e) => {
            let answer = catalog_error(e);
            let outcome = if answer.status.is_client_error() {
                AuditOutcome::Refused
            } else {
                AuditOutcome::Failed
            };
            state.live.audit().record(
                NewAudit::ok(actor, AuditAction::ExperimentPut, "")
                    .ended(outcome, answer.error.clone()),
            );
            return Err(answer);
        }
    };
    let what = if created { "added" } else { "changed" };
    state.live.audit().record(
        NewAudit::ok(actor, AuditAction::ExperimentPut, name.as_str())
            .ended(AuditOutcome::Ok, what),
    );
    let url = absolute(&req, &format!("/api/v1/experiments/{name}"));
    let mut resp = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(resp
        .insert_header((LOCATION, url.clone()))
        .json(serde_json::json!({ "name": name, "created": created, "url": url })))
}

async fn list(
    _: Viewer,
    req: HttpRequest,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .store
        .list_experiments()
        .map_err(|e| ApiError::internal("listing experiments", &e))?;
    let shown: Vec<Shown> = rows
        .into_iter()
        .map(|r| Shown {
            url: absolute(&req, &format!("/api/v1/experiments/{}", r.name)),
            name: r.name,
            source: r.source,
            updated_at: r.updated_at,
            text: None,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "experiments": shown })))
}

async fn get(
    _: Viewer,
    req: HttpRequest,
    state: web::Data<ApiState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .store
        .experiment(&name)
        .map_err(|e| ApiError::internal("reading the experiment", &e))?
        .ok_or_else(|| catalog_error(CatalogError::NoSuch(name.to_string())))?;
    Ok(HttpResponse::Ok().json(Shown {
        url: absolute(&req, &format!("/api/v1/experiments/{}", row.name)),
        name: row.name,
        source: row.source,
        updated_at: row.updated_at,
        text: Some(row.text),
    }))
}

async fn delete(
    Operator(caller): Operator,
    state: web::Data<ApiState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    not_a_ci_job(&state, &caller, AuditAction::ExperimentDelete, &name)?;
    let actor = caller.actor();
    let gone = state
        .store
        .delete_experiment(&name)
        .map_err(|e| ApiError::internal("deleting the experiment", &e))?;
    let attempt = NewAudit::ok(actor, AuditAction::ExperimentDelete, name.as_str());
    state.live.audit().record(match gone {
        true => attempt,
        false => attempt.ended(AuditOutcome::Refused, "no such experiment"),
    });
    if gone {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(catalog_error(CatalogError::NoSuch(name.to_string())))
    }
}

async fn run(
    Operator(caller): Operator,
    req: HttpRequest,
    state: web::Data<ApiState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // A CI job's run records its job, and reports to GitLab as a triggered run would.
    let gitlab = caller.ci_job().map(|job| job.context(None));
    if let Some(cx) = &gitlab {
        super::runs::gitlab_for(&state, cx)?;
    }
    let (_, exp) = catalog::get(&*state.store, &name, gitlab.as_ref()).map_err(catalog_error)?;
    super::start_rights::may_start(&state, &caller, &exp)?;
    let id = state
        .live
        .start_as(exp, gitlab, caller.actor())
        .map_err(super::runs::start_error)?;
    let path = format!("/api/v1/runs/{id}");
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, absolute(&req, &path)))
        .json(serde_json::json!({
            "id": id,
            "url": absolute(&req, &path),
            "eventsUrl": absolute(&req, &format!("{path}/events")),
            "reportUrl": absolute(&req, &format!("{path}/report.html")),
        })))
}
