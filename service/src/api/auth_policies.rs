//! `GET /api/v1/auth/policies` (operator or admin): the ID-token trust policies and the
//! latest refusals with their reasons, for people and the console to see who may break
//! what and why a job was turned away. Never a token.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;

use super::auth::Operator;
use super::id_token::RefusalRecord;
use super::state::ApiState;

/// Mounts the route under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/policies", web::get().to(policies));
}

/// One policy as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyView {
    name: String,
    line: usize,
    claims: serde_json::Map<String, serde_json::Value>,
    experiments: Vec<String>,
    namespaces: Vec<String>,
    role: &'static str,
}

async fn policies(_: Operator, state: web::Data<ApiState>) -> HttpResponse {
    let Some(ids) = state.id_tokens.get() else {
        return HttpResponse::Ok().json(json!({
            "enabled": false,
            "policies": [],
            "refusals": [],
        }));
    };
    let config = ids.verifier.config();
    let policies: Vec<PolicyView> = config
        .policies
        .iter()
        .map(|p| PolicyView {
            name: p.name.clone(),
            line: p.line,
            claims: p
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
            experiments: p.experiments.clone(),
            namespaces: p.namespaces.clone(),
            role: p.role.as_str(),
        })
        .collect();
    let refusals: Vec<RefusalRecord> = ids.refusals.latest();
    HttpResponse::Ok().json(json!({
        "enabled": true,
        "issuer": config.issuer,
        "audience": config.audience,
        "leewaySeconds": config.leeway.as_secs(),
        "policies": policies,
        "refusals": refusals,
        // Tokens that started a run and are still valid, on every replica (the store's).
        "spentTokens": state.store.spent_tokens(chrono::Utc::now().timestamp()).ok(),
    }))
}
