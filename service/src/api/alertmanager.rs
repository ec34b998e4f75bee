//! `POST /webhooks/alertmanager`: Alertmanager's webhook receiver. A firing alert whose
//! name a live run lists in `spec.abortOnAlerts` aborts that run at once (its faults are
//! recovered first) — the push counterpart of the runner watching Prometheus's `ALERTS`,
//! so a team's existing alert rules are stop conditions without waiting for a poll.
//!
//! Alertmanager authenticates with `http_config.authorization` (a bearer token of this
//! service, operator role). Every 2xx is success to Alertmanager; a 4xx is not retried.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::Operator;
use super::body::read_body;
use super::error::ApiError;
use super::state::ApiState;

/// Mounts `/webhooks/alertmanager`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/alertmanager", web::post().to(receive));
}

/// Alertmanager's webhook payload (version 4), the fields used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    version: String,
    alerts: Vec<Alert>,
    #[serde(default)]
    external_url: String,
}

#[derive(Debug, Deserialize)]
struct Alert {
    status: String,
    labels: BTreeMap<String, String>,
}

async fn receive(
    _: Operator,
    state: web::Data<ApiState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload).await?;
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let p: Payload = match serde_path_to_error::deserialize(de) {
        Ok(p) => p,
        Err(e) => {
            state.metrics.webhook_request("alertmanager", "invalid");
            return Err(ApiError::bad_request(format!(
                "not an Alertmanager webhook payload: {}: {}",
                e.path(),
                e.inner()
            )));
        }
    };
    if p.version != "4" {
        state.metrics.webhook_request("alertmanager", "invalid");
        return Err(ApiError::bad_request(format!(
            "Alertmanager webhook version {:?}; faultline reads version 4",
            p.version
        )));
    }
    let mut aborted = Vec::new();
    let mut firing = Vec::new();
    for a in p.alerts.iter().filter(|a| a.status == "firing") {
        let Some(name) = a.labels.get("alertname") else {
            continue;
        };
        firing.push(name.clone());
        let source = if p.external_url.is_empty() {
            "Alertmanager".to_string()
        } else {
            format!("Alertmanager {}", p.external_url)
        };
        let reason = format!("alert {name} fired ({source}; spec.abortOnAlerts)");
        for id in state.live.abort_on_alert(name, &reason) {
            tracing::warn!(run = %id, alert = %name, "aborting: an abortOnAlerts alert fired");
            aborted.push(id);
        }
    }
    aborted.sort();
    aborted.dedup();
    state.metrics.webhook_request(
        "alertmanager",
        if aborted.is_empty() {
            "ignored"
        } else {
            "triggered"
        },
    );
    Ok(HttpResponse::Ok().json(serde_json::json!({ "firing": firing, "aborted": aborted })))
}
