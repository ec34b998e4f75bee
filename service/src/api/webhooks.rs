//! `POST /webhooks/gitlab`: GitLab's webhook. Checks the secret token (constant time,
//! per project), deduplicates GitLab's retries, reads the payload, and starts the
//! experiments the rules name — answering at once with the runs' ids and URLs, since
//! GitLab gives up on a webhook after 10 s and disables one that keeps failing.
//!
//! Answers: 201 runs started; 202 nothing to do (with the reason); 200 a duplicate (the
//! first answer again); 400 malformed; 401 bad or missing token; 404 not configured; 413
//! too big. GitLab counts every 4xx/5xx as a failure, so events that are merely not for
//! us are 2xx.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::body::{absolute, read_body};
use super::error::ApiError;
use super::gitlab_hooks::GitlabHooks;
use super::state::ApiState;
use crate::application::catalog;
use crate::application::config_file::Glob;
use crate::application::gitlab_trigger::config::GitlabConfig;
use crate::application::gitlab_trigger::hooks;
use crate::application::gitlab_trigger::hooks::EventKind;
use crate::application::gitlab_trigger::rules;
use crate::application::ports::{DeliveryLog, PRUNE_AT_MOST};
use crate::domain::GitlabContext;
use crate::domain::{Actor, ActorKind, AuditAction, AuditOutcome, NewAudit};

/// Mounts `/webhooks/gitlab`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/gitlab", web::post().to(gitlab));
}

/// One run a delivery started.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    experiment: String,
    rule: String,
    id: String,
    url: String,
    report_url: String,
}

/// One experiment a delivery should have started but could not.
#[derive(Debug, Serialize)]
struct NotStarted {
    experiment: String,
    rule: String,
    error: String,
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The project patterns `token` is the secret of (compared with every configured
/// secret, in constant time each, so timing tells nothing about which were close).
fn authorized<'c>(cfg: &'c GitlabConfig, token: &str) -> Vec<&'c Glob> {
    let mut out = Vec::new();
    for p in &cfg.projects {
        if bool::from(p.secret.as_bytes().ct_eq(token.as_bytes())) {
            out.push(&p.path);
        }
    }
    out
}

fn answer(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// An answer already serialised.
fn json_text(status: StatusCode, text: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(actix_web::http::header::ContentType::json())
        .body(text)
}

async fn gitlab(
    req: HttpRequest,
    state: web::Data<ApiState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let metrics = state.metrics.clone();
    let event_label = header(&req, "X-Gitlab-Event")
        .and_then(EventKind::from_header)
        .map_or("unknown", EventKind::name);
    let outcome = handle(&req, &state, payload).await;
    let label = match &outcome {
        Ok((_, o)) => *o,
        Err(e) if e.status == StatusCode::UNAUTHORIZED => "unauthorized",
        Err(e) if e.status.is_client_error() => "invalid",
        Err(_) => "error",
    };
    metrics.webhook_request(event_label, label);
    if let Err(e) = &outcome
        && e.status == StatusCode::UNAUTHORIZED
    {
        // A refused secret is a refused attempt: audited without what was sent.
        state.live.audit().record(
            NewAudit::ok(
                Actor {
                    kind: ActorKind::CiJob,
                    ..Actor::system("unknown")
                },
                AuditAction::Access,
                format!("POST {}", req.path()),
            )
            .ended(AuditOutcome::Refused, format!("401: {}", e.error)),
        );
    }
    outcome.map(|(r, _)| r)
}

async fn handle(
    req: &HttpRequest,
    state: &ApiState,
    payload: web::Payload,
) -> Result<(HttpResponse, &'static str), ApiError> {
    let Some(hooks) = state.gitlab.get().cloned() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "GitLab webhooks are not configured on this server (faultline serve --gitlab-config)",
        ));
    };
    let body = read_body(payload).await?;
    let Some(token) = header(req, "X-Gitlab-Token") else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing X-Gitlab-Token: set the webhook's Secret token to the project's secret",
        ));
    };
    let allowed = authorized(&hooks.config, token);
    if allowed.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "X-Gitlab-Token matches no configured project secret",
        ));
    }
    let Some(event) = header(req, "X-Gitlab-Event") else {
        return Err(ApiError::bad_request(
            "missing X-Gitlab-Event header; is this a GitLab webhook?",
        ));
    };
    let Some(kind) = EventKind::from_header(event) else {
        return Ok((
            answer(
                StatusCode::ACCEPTED,
                serde_json::json!({ "ignored": format!("{event} is not an event faultline acts on") }),
            ),
            "ignored",
        ));
    };
    let ev = hooks::parse(kind, &body)
        .map_err(|e| ApiError::bad_request(format!("{event} payload: {e}")))?;
    if !allowed.iter().any(|g| g.matches(&ev.context.project_path)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "X-Gitlab-Token is not the secret of project {}",
                ev.context.project_path
            ),
        ));
    }
    // Most deliveries are events no rule wants: answer those before touching the store.
    let wanted = match rules::applicable(&hooks.config.rules, &ev) {
        Ok(r) => r,
        Err(why) => {
            return Ok((
                answer(
                    StatusCode::ACCEPTED,
                    serde_json::json!({ "ignored": why.to_string() }),
                ),
                "ignored",
            ));
        }
    };
    let names = state
        .store
        .experiment_names()
        .map_err(|e| ApiError::internal("reading the experiment catalog", &e))?;
    let matches = match rules::experiments(&wanted, &names) {
        Ok(m) => m,
        Err(why) => {
            return Ok((
                answer(
                    StatusCode::ACCEPTED,
                    serde_json::json!({ "ignored": why.to_string() }),
                ),
                "ignored",
            ));
        }
    };
    // Only deliveries that would start runs are recorded: repeating an ignored one is
    // harmless, and the record is an fsync'd write. GitLab keeps Idempotency-Key across
    // retries and manual resends; older versions only send X-Gitlab-Event-UUID.
    let delivery = header(req, "Idempotency-Key").or_else(|| header(req, "X-Gitlab-Event-UUID"));
    if let Some(uuid) = delivery
        && let Some(seen) = state
            .store
            .claim_delivery(uuid, event)
            .await
            .map_err(|e| ApiError::internal("recording the delivery", &e))?
    {
        let mut first: serde_json::Value = serde_json::from_str(&seen.response).unwrap_or_else(
            |_| serde_json::json!({ "note": "the first delivery is still being handled" }),
        );
        if let Some(m) = first.as_object_mut() {
            m.insert("duplicate".into(), true.into());
            m.insert(
                "firstReceivedAt".into(),
                seen.received_at.to_rfc3339().into(),
            );
        }
        return Ok((answer(StatusCode::OK, first), "duplicate"));
    }
    let mut cx = ev.context.clone();
    cx.event_uuid = delivery.map(str::to_string);
    let (status, body, outcome) = start_runs(req, state, &hooks, matches, cx);
    // Serialised once: the stored answer is the reply, byte for byte.
    let text = body.to_string();
    if let Some(uuid) = delivery {
        // Queued now, ahead of any resend (the writer keeps arrival order), but not waited
        // for: the claim above is what keeps a resend from running twice, and it is durable
        // already. Should the process die before this commits, a resend is answered "still
        // being handled", as when it dies while starting the runs. Waiting would put a
        // second fsync in front of every recorded delivery's answer.
        let stored = state.store.finish_delivery(uuid, text.clone());
        let uuid = uuid.to_string();
        tokio::spawn(async move {
            if let Err(e) = stored.await {
                tracing::error!(delivery = %uuid, error = %e, "cannot store the webhook answer; a retry would be answered as in progress");
            }
        });
    }
    Ok((json_text(status, text), outcome))
}

fn start_runs(
    req: &HttpRequest,
    state: &ApiState,
    hooks: &GitlabHooks,
    matches: Vec<rules::Match>,
    cx: GitlabContext,
) -> (StatusCode, serde_json::Value, &'static str) {
    // Refused before any experiment is read or rendered.
    if let Ok(Some(h)) = state.store.halted() {
        let refused: Vec<NotStarted> = matches
            .into_iter()
            .map(|m| NotStarted {
                experiment: m.experiment,
                rule: m.rule,
                error: crate::application::live::LiveError::Halted(h.clone()).to_string(),
            })
            .collect();
        return (
            StatusCode::ACCEPTED,
            serde_json::json!({ "refused": refused }),
            "refused",
        );
    }
    let mut started = Vec::new();
    let mut failed = Vec::new();
    for m in matches {
        let result = catalog::get(&*state.store, &m.experiment, Some(&cx))
            .map_err(|e| e.to_string())
            .and_then(|(_, exp)| {
                state
                    .live
                    .start_from(exp, Some(cx.clone()))
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(id) => {
                hooks.accepted(&id);
                tracing::info!(run = %id, experiment = %m.experiment, rule = %m.rule, gitlab = %cx.summary(), "webhook started a run");
                let path = format!("/api/v1/runs/{id}");
                started.push(Started {
                    url: absolute(req, &path),
                    report_url: absolute(req, &format!("{path}/report.html")),
                    experiment: m.experiment,
                    rule: m.rule,
                    id,
                });
            }
            Err(error) => failed.push(NotStarted {
                experiment: m.experiment,
                rule: m.rule,
                error,
            }),
        }
    }
    if started.is_empty() {
        // Refused (shutting down) or broken experiments: still a 2xx, so GitLab does not
        // disable the hook over our own state; the reasons are in the body.
        return (
            StatusCode::ACCEPTED,
            serde_json::json!({ "refused": failed }),
            "refused",
        );
    }
    (
        StatusCode::CREATED,
        serde_json::json!({ "runs": started, "notStarted": failed }),
        "triggered",
    )
}

/// Sets the webhook's config on a running service's state.
pub fn install(state: &ApiState, hooks: GitlabHooks) {
    if state.gitlab.set(Arc::new(hooks)).is_err() {
        tracing::warn!("GitLab webhook config already set; keeping the first");
    }
}

/// How often `serve` deletes deliveries older than `keepDeliveries`.
pub const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Deletes recorded deliveries first received more than `keep` ago: at once, then every
/// `every`, until the task is aborted. A backlog goes in several bounded prunes, each its
/// own transaction, so claims arriving meanwhile wait for one prune at most.
pub fn prune_deliveries(
    store: Arc<dyn DeliveryLog>,
    keep: Duration,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            // None: a retention longer than time has run; nothing is that old.
            let Some(before) = chrono::TimeDelta::from_std(keep)
                .ok()
                .and_then(|keep| chrono::Utc::now().checked_sub_signed(keep))
            else {
                continue;
            };
            let mut pruned = 0;
            loop {
                match store.prune_deliveries(before).await {
                    Ok(n) => {
                        pruned += n;
                        if n < PRUNE_AT_MOST {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot delete old webhook deliveries; trying again later");
                        break;
                    }
                }
            }
            if pruned > 0 {
                tracing::info!(pruned, before = %before, "deleted webhook deliveries older than keepDeliveries");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn old_deliveries_are_deleted_at_start_in_bounded_prunes_and_recent_ones_kept() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let old = 2 * PRUNE_AT_MOST + 1;
        let claims: Vec<_> = (0..old)
            .map(|i| format!("old-{i}"))
            .chain((0..10).map(|i| format!("new-{i}")))
            .map(|uuid| store.claim_delivery(&uuid, "Pipeline Hook"))
            .collect();
        for c in futures::future::join_all(claims).await {
            c.unwrap();
        }
        let forty_days_ago = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339();
        store
            .conn()
            .execute(
                "UPDATE webhook_deliveries SET received_at = ?1 WHERE uuid LIKE 'old-%'",
                [&forty_days_ago],
            )
            .unwrap();
        let count = || -> i64 {
            store
                .conn()
                .query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get(0))
                .unwrap()
        };
        // Every hour: only the prune at start can have run by the time this looks.
        let task = prune_deliveries(
            store.clone(),
            Duration::from_secs(30 * 24 * 3600),
            Duration::from_secs(3600),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while count() != 10 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
        assert_eq!(
            count(),
            10,
            "the recent deliveries, and only those, are kept"
        );
        assert!(
            store
                .claim_delivery("new-3", "Pipeline Hook")
                .await
                .unwrap()
                .is_some()
        );
    }
}
