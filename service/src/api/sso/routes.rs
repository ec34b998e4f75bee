//! `/auth/*`: the browser's side of a sign-in.
//!
//! - `GET /auth/config`: whether SSO is on (the sign-in page shows its button by it).
//! - `GET /auth/login`: a new sign-in: state, nonce and PKCE verifier kept server-side,
//!   the state also in the `faultline_login` cookie; 302 to the provider.
//! - `GET /auth/callback`: the provider's answer. The state must be the one this
//!   browser's cookie holds and a sign-in in flight (CSRF: else 400); the code is
//!   exchanged with the PKCE verifier, the ID token verified (signature, issuer,
//!   audience, expiry, nonce), the role mapped (no match: 403 page saying why), a session
//!   created; 303 to the console.
//! - `POST /auth/logout` (with `X-Faultline-CSRF`): the session dropped server-side, the
//!   cookie cleared; answers where to go next: the provider's `end_session_endpoint`
//!   (RP-initiated logout) when it has one, else the sign-in page.

use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::provider::ProviderError;
use super::{CSRF_HEADER, Sso, cookie, now, page, pending, store_unavailable};
use crate::api::error::ApiError;
use crate::api::state::ApiState;
use crate::application::sso::{Person, Session};
use crate::domain::{Actor, ActorKind, AuditAction, AuditOutcome, NewAudit};

/// Mounts `/auth/*` at the root (beside the console, under the same public path).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/config", web::get().to(config))
        .route("/auth/login", web::get().to(login))
        .route("/auth/callback", web::get().to(callback))
        .route("/auth/logout", web::post().to(logout));
}

fn sso(state: &ApiState) -> Result<&Sso, ApiError> {
    state.sso.get().map(|s| s.as_ref()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "single sign-on is not configured on this server (serve --sso-config)",
        )
    })
}

async fn config(state: web::Data<ApiState>) -> HttpResponse {
    let on = state.sso.get().is_some();
    HttpResponse::Ok().json(serde_json::json!({ "sso": on }))
}

async fn login(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let sso = sso(&state)?;
    let provider = match sso.provider().await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "SSO sign-in: the provider could not be reached");
            return Ok(page::refused(
                StatusCode::BAD_GATEWAY,
                "The sign-in provider did not answer",
                &e.to_string(),
                &sso.base,
            ));
        }
    };
    let start = provider.authorize();
    if let Err(e) = pending::remember(
        sso.logins.as_ref(),
        &start.state,
        &start.nonce,
        &start.verifier,
        now(),
    ) {
        let why = store_unavailable(&e);
        return Ok(page::refused(
            why.status,
            "Sign-in could not start",
            &why.error,
            &sso.base,
        ));
    }
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, start.url))
        .insert_header((
            SET_COOKIE,
            cookie::login(&start.state, &format!("{}auth/", sso.base)),
        ))
        .finish())
}

/// The provider's redirect back: a code and the state, or an error.
#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn audit_refusal(state: &ApiState, actor: Actor, why: &str) {
    state.live.audit().record(
        NewAudit::ok(actor, AuditAction::Access, "GET /auth/callback")
            .ended(AuditOutcome::Refused, why.to_string()),
    );
}

fn someone() -> Actor {
    Actor {
        kind: ActorKind::Oidc,
        name: "unknown (sign-in not completed)".into(),
        project: None,
        git_ref: None,
        pipeline: None,
    }
}

async fn callback(
    req: HttpRequest,
    state: web::Data<ApiState>,
    query: web::Query<Callback>,
) -> Result<HttpResponse, ApiError> {
    let sso = sso(&state)?;
    let q = query.into_inner();
    let base = sso.base.as_str();
    let bad = |title: &str, why: &str| {
        audit_refusal(&state, someone(), why);
        tracing::warn!(reason = why, "SSO sign-in refused");
        page::refused(StatusCode::BAD_REQUEST, title, why, base)
    };
    if let Some(error) = &q.error {
        let why = format!(
            "the provider answered `{error}`{}",
            q.error_description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
        return Ok(bad("The provider did not sign you in", &why));
    }
    let Some(returned) = q.state.as_deref() else {
        return Ok(bad(
            "Sign-in refused",
            "the callback carries no `state`: start the sign-in from this server",
        ));
    };
    // The state this browser was given at /auth/login: a callback another site made the
    // browser open (login CSRF) carries a state this browser never saw.
    let ours = cookie::read(&req, cookie::LOGIN).unwrap_or_default();
    if !bool::from(ours.as_bytes().ct_eq(returned.as_bytes())) {
        return Ok(bad(
            "Sign-in refused",
            "the callback's `state` is not the one this browser's sign-in was given (a forged or stale callback); start the sign-in again",
        ));
    }
    let taken = match pending::take(sso.logins.as_ref(), returned, now()) {
        Ok(taken) => taken,
        Err(e) => {
            let why = store_unavailable(&e);
            return Ok(page::refused(
                why.status,
                "Sign-in failed",
                &why.error,
                base,
            ));
        }
    };
    let Some(pending) = taken else {
        return Ok(bad(
            "Sign-in refused",
            "this sign-in is unknown, already used or older than 10 minutes; start it again",
        ));
    };
    let Some(code) = q.code else {
        return Ok(bad("Sign-in refused", "the callback carries no `code`"));
    };
    let provider = match sso.provider().await {
        Ok(p) => p,
        Err(e) => {
            return Ok(page::refused(
                StatusCode::BAD_GATEWAY,
                "The sign-in provider did not answer",
                &e.to_string(),
                base,
            ));
        }
    };
    let verified = match provider
        .exchange(code, pending.verifier, &pending.nonce, &sso.http)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            let why = e.to_string();
            audit_refusal(&state, someone(), &why);
            tracing::warn!(reason = %why, "SSO sign-in refused");
            let status = match e {
                ProviderError::IdToken(_) => {
                    // Perhaps the provider rotated its keys: fetch them at the next sign-in.
                    sso.forget_provider().await;
                    StatusCode::UNAUTHORIZED
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            return Ok(page::refused(status, "Sign-in failed", &why, base));
        }
    };
    let person = Person {
        display: verified
            .username
            .clone()
            .or_else(|| verified.email.clone())
            .unwrap_or_else(|| verified.subject.clone()),
        subject: verified.subject,
        email: verified.email,
    };
    let role = match sso.roles().role_of(&verified.claims) {
        Ok(role) => role,
        Err(refusal) => {
            let why = refusal.to_string();
            audit_refusal(&state, person.actor(), &why);
            tracing::warn!(subject = %person.subject, reason = %why, "SSO sign-in refused: no role");
            return Ok(page::refused(
                StatusCode::FORBIDDEN,
                "Signed in, but not allowed here",
                &format!("You signed in as {}, but {why}.", person.display),
                base,
            ));
        }
    };
    let ttl = sso.config.session_ttl.as_secs();
    // 32 random bytes (the OS-seeded CSPRNG behind oauth2's state), base64url: the
    // session id is as unguessable as the state itself.
    let id = openidconnect::CsrfToken::new_random_len(32)
        .secret()
        .clone();
    tracing::info!(subject = %person.subject, name = %person.display, role = role.as_str(), "signed in through SSO");
    let session = Session {
        person,
        role,
        expires: now() + ttl as i64,
        id_token: verified.id_token,
    };
    if let Err(e) = sso.sessions.put_session(&id, &session, now()) {
        let why = store_unavailable(&e);
        return Ok(page::refused(
            why.status,
            "Sign-in could not be kept",
            &why.error,
            base,
        ));
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, base.to_string()))
        .append_header((SET_COOKIE, cookie::session(&id, base, ttl)))
        .append_header((
            SET_COOKIE,
            cookie::clear(cookie::LOGIN, &format!("{base}auth/")),
        ))
        .finish())
}

async fn logout(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let sso = sso(&state)?;
    if !req.headers().contains_key(CSRF_HEADER) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sign-out must carry the X-Faultline-CSRF header (the console sends it)",
        ));
    }
    // A store failure is 503, not "signed out": the session would still be alive.
    let ended = match cookie::read(&req, cookie::SESSION) {
        Some(id) => sso
            .sessions
            .drop_session(&id)
            .map_err(|e| store_unavailable(&e))?,
        None => None,
    };
    let signin = format!("{}signin", sso.public);
    let next = match (&ended, sso.provider.lock().await.as_ref()) {
        (Some(session), Some(p)) if p.end_session.is_some() => {
            let end = p.end_session.as_deref().unwrap_or_default();
            reqwest::Url::parse_with_params(
                end,
                [
                    ("id_token_hint", session.id_token.as_str()),
                    ("post_logout_redirect_uri", signin.as_str()),
                    ("client_id", p.client_id.as_str()),
                ],
            )
            .map(|u| u.to_string())
            .unwrap_or_else(|_| signin.clone())
        }
        _ => signin.clone(),
    };
    if let Some(s) = &ended {
        tracing::info!(subject = %s.person.subject, "signed out");
    }
    Ok(HttpResponse::Ok()
        .append_header((SET_COOKIE, cookie::clear(cookie::SESSION, &sso.base)))
        .json(serde_json::json!({ "signedOut": ended.is_some(), "next": next })))
}
