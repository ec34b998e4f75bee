//! `GET /api/v1/whoami`: who the caller is and what they may do. The console asks it
//! after sign-in and shows or hides its buttons by the answer (the API still checks every
//! call). `auth` says how the caller was recognised: a bearer token, or `sso` for a person's
//! session cookie (api/sso/).

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::auth::{Auth, Role};
use super::error::ApiError;
use crate::application::identity::CallerSource;

/// Mounts the route under `/api/v1`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route("/whoami", actix_web::web::get().to(whoami));
}

/// The answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Who {
    name: String,
    role: &'static str,
    /// `token` (a bearer token from the tokens file), `ci_job` (a GitLab CI job's ID
    /// token), `sso` (a person's sign-in session cookie) or `disabled`
    /// (`--insecure-no-auth`).
    auth: &'static str,
    /// What the role allows, so a client need not know the role ladder.
    can_start: bool,
    can_abort: bool,
    can_stop_all: bool,
    can_resume: bool,
}

async fn whoami(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    // Asked, not checked: a console without a token is not an access to audit.
    let caller = Auth::identify(&req).await.map_err(|(_, refusal)| refusal)?;
    let role = caller.role();
    let operator = role >= Role::Operator;
    Ok(HttpResponse::Ok().json(Who {
        name: caller.name(),
        role: role.as_str(),
        auth: match caller.source {
            CallerSource::NoAuth => "disabled",
            CallerSource::StaticToken { .. } => "token",
            CallerSource::CiJob { .. } => "ci_job",
            CallerSource::Oidc { .. } => "sso",
        },
        can_start: operator,
        can_abort: operator,
        can_stop_all: operator,
        can_resume: role >= Role::Admin,
    }))
}
