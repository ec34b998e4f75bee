//! `/api/v1/runs`: create (or dry-run), list, get, abort, reports.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::{Operator, Viewer};
use super::body::{absolute, read_body};
use super::error::{ApiError, store_error};
use super::intake;
use super::run_query::ListQuery;
use super::state::ApiState;
use crate::application::dry_run::dry_run;
use crate::application::live::LiveError;
use crate::application::ports::AbortRequested;
use crate::application::ports::PlanPreviews;
use crate::application::report::{Report, to_html, to_junit};
use crate::domain::RunRow;
use crate::domain::RunState;
use crate::domain::{Actor, AuditAction, AuditOutcome, NewAudit};

/// Mounts the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/runs", web::post().to(create))
        .route("/runs", web::get().to(list))
        .route("/runs/{id}", web::get().to(get))
        .route("/runs/{id}/abort", web::post().to(abort))
        .route("/runs/{id}/events", web::get().to(super::sse::events))
        .route("/runs/{id}/report.json", web::get().to(report_json))
        .route("/runs/{id}/report.html", web::get().to(report_html))
        .route("/runs/{id}/junit.xml", web::get().to(junit));
}

/// GitLab's API for a run submitted with pipeline context `cx`: only projects the GitLab
/// config lists may be reported to (an operator token must not make faultline write on
/// any project its GitLab token can reach). Without a GitLab API the context is kept for
/// reports only.
pub(super) fn gitlab_for(
    state: &ApiState,
    cx: &crate::domain::GitlabContext,
) -> Result<Option<Arc<dyn PlanPreviews>>, ApiError> {
    let Some(hooks) = state.gitlab.get() else {
        return Ok(None);
    };
    if !hooks
        .config
        .projects
        .iter()
        .any(|p| p.path.matches(&cx.project_path))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "gitlab.projectPath {} is not a project of this server's GitLab config",
                cx.project_path
            ),
        ));
    }
    Ok(hooks.previews.clone())
}

/// The answer to a run that could not start: 503 while shutting down or halted, 409
/// outside a change window (the message names the window and the next allowed time).
pub(super) fn start_error(e: LiveError) -> ApiError {
    match e {
        LiveError::ShuttingDown | LiveError::Halted(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        LiveError::OutsideWindow(_) | LiveError::DryRun(_) => {
            ApiError::new(StatusCode::CONFLICT, e.to_string())
        }
        other => ApiError::internal("creating the run", &other),
    }
}

/// The answer to a created run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    id: String,
    url: String,
    events_url: String,
    report_url: String,
    state: RunState,
}

async fn create(
    Operator(caller): Operator,
    req: HttpRequest,
    state: web::Data<ApiState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload).await?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let mut intake = intake::parse(content_type.as_deref(), &body)?;
    // A CI job's run records the job its verified token names, not what the body says.
    if let Some(job) = caller.ci_job() {
        intake.gitlab = Some(job.context(intake.gitlab.as_ref()));
    }
    if intake.dry_run {
        // A plan injects nothing: the rights are checked, the token is not spent.
        caller
            .may_start(&intake.experiment)
            .map_err(|why| ApiError::new(StatusCode::FORBIDDEN, why))?;
    } else {
        super::start_rights::may_start(&state, &caller, &intake.experiment)?;
    }
    let previews = match &intake.gitlab {
        Some(cx) => gitlab_for(&state, cx)?,
        None => None,
    };
    if intake.dry_run {
        let exp = intake.experiment;
        let local = state.resolve_locally;
        let cluster = state.live.cluster().cloned();
        let in_cluster = cluster.as_ref().map(|_| exp.clone());
        // Resolving scans /proc: keep it off the async worker.
        let mut plan = web::block(move || dry_run(&exp, local))
            .await
            .map_err(|e| ApiError::internal("planning the dry run", &e))?;
        if let (Some(c), Some(exp)) = (cluster, in_cluster) {
            crate::application::dry_run::resolve_in_cluster(&mut plan, &exp, &*c).await;
        }
        // The preview shows the pods the cluster resolved, so it is posted after.
        if let (Some(previews), Some(cx)) = (previews, intake.gitlab)
            && cx.mr_iid.is_some()
        {
            tokio::spawn(previews.post(plan.clone(), cx));
        }
        return Ok(HttpResponse::Ok().json(plan));
    }
    let reports_to_gitlab = previews.is_some();
    // The token is who asked; the pipeline it says it came from is kept beside the name.
    let actor = caller.actor();
    let actor = match &intake.gitlab {
        Some(cx) => Actor {
            kind: actor.kind,
            name: actor.name,
            ..Actor::gitlab(cx)
        },
        None => actor,
    };
    let id = state
        .live
        .start_as(intake.experiment, intake.gitlab, actor)
        .map_err(start_error)?;
    if reports_to_gitlab && let Some(hooks) = state.gitlab.get() {
        hooks.accepted(&id);
    }
    let path = format!("/api/v1/runs/{id}");
    let created = Created {
        url: absolute(&req, &path),
        events_url: absolute(&req, &format!("{path}/events")),
        report_url: absolute(&req, &format!("{path}/report.html")),
        id,
        state: RunState::Pending,
    };
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, created.url.clone()))
        .json(created))
}

/// One run in a list (without its spec and events).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    id: String,
    experiment: String,
    state: RunState,
    reason: String,
    created_at: chrono::DateTime<chrono::Utc>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    url: String,
    /// The GitLab event that started the run (the console shows its project, ref, sha,
    /// pipeline and merge request).
    #[serde(skip_serializing_if = "Option::is_none")]
    gitlab: Option<crate::domain::GitlabContext>,
}

async fn list(
    _: Viewer,
    req: HttpRequest,
    state: web::Data<ApiState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = q.check()?;
    let store = state.store.clone();
    let asked = query.clone();
    let rows = web::block(move || store.find_runs(&asked.filter()))
        .await
        .map_err(|e| ApiError::internal("listing runs", &e))?
        .map_err(|e| ApiError::internal("listing runs", &e))?;
    let next = (rows.len() == query.limit as usize)
        .then(|| query.next_url(&absolute(&req, "/api/v1/runs"), &rows[rows.len() - 1].id));
    let runs: Vec<Summary> = rows
        .into_iter()
        .map(|r: RunRow| Summary {
            url: absolute(&req, &format!("/api/v1/runs/{}", r.id)),
            id: r.id,
            experiment: r.experiment,
            state: r.state,
            reason: r.reason,
            created_at: r.created_at,
            finished_at: r.finished_at,
            gitlab: r.gitlab,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "runs": runs, "next": next })))
}

fn report(state: &ApiState, id: &str) -> Result<Report, ApiError> {
    let row = state.store.run(id).map_err(|e| store_error(id, e))?;
    let events = state.store.events(id).map_err(|e| store_error(id, e))?;
    Ok(Report::build(&row, events))
}

async fn get(
    _: Viewer,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report(&state, &id)?))
}

async fn report_json(
    _: Viewer,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report(&state, &id)?))
}

async fn report_html(
    _: Viewer,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(to_html(&report(&state, &id)?)))
}

async fn junit(
    _: Viewer,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .body(to_junit(&report(&state, &id)?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AbortBody {
    reason: Option<String>,
}

async fn abort(
    Operator(caller): Operator,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: AbortBody = if body.iter().all(u8::is_ascii_whitespace) {
        AbortBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("abort body: {e}")))?
    };
    let reason = body
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "aborted by an operator".into());
    let row = state.store.run(&id).map_err(|e| store_error(&id, e))?;
    let attempt = NewAudit::ok(caller.actor(), AuditAction::RunAbort, id.as_str());
    let refused = |message: String| {
        state
            .live
            .audit()
            .record(attempt.clone().ended(AuditOutcome::Refused, &message));
        ApiError::new(StatusCode::CONFLICT, message)
    };
    if row.state.is_terminal() {
        return Err(refused(format!("run {id} already finished: {}", row.state)));
    }
    // Live here: aborted at once. Live on another replica: the request is recorded in
    // the shared store and that replica aborts the run on its next poll.
    let driven_here = state.live.abort(&id, &reason).is_ok();
    if !driven_here {
        let asked = state
            .store
            .request_abort(&id, &reason, &caller.actor().to_string())
            .map_err(|e| store_error(&id, e))?;
        match asked {
            AbortRequested::Recorded => {}
            AbortRequested::RunFinished => {
                return Err(refused(format!("run {id} already finished")));
            }
            AbortRequested::NotShared => {
                return Err(refused(format!(
                    "run {id} is {} but not driven by this service",
                    row.state
                )));
            }
        }
    }
    state
        .live
        .audit()
        .record(attempt.ended(AuditOutcome::Ok, &reason));
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "id": *id,
        "state": row.state,
        "aborting": true,
        "reason": reason,
        "drivenBy": if driven_here { "this replica" } else { "another replica" },
    })))
}
