//! Sign-in for people (issue 28): the OIDC authorization-code flow with PKCE against the
//! provider of `serve --sso-config` (GitLab, Keycloak, ...), and the session cookie it
//! leaves. [`routes`] answers `/auth/login`, `/auth/callback`, `/auth/logout` and
//! `/auth/config`; [`provider`] speaks the protocol through the `openidconnect` crate over
//! [`http`] (the workspace's reqwest); [`pending`] keeps sign-ins in flight in the store; [`cookie`] the
//! cookies. [`Sso::caller`] turns a session cookie into the same [`Caller`] a bearer token
//! gives (`api/auth.rs` asks it when a request carries no bearer token). The rules — the
//! role map, sessions, the config file — are the application's (`application/sso/`).

pub mod cookie;
pub mod http;
pub mod page;
pub mod pending;
pub mod provider;
pub mod routes;

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;

use self::http::ProviderHttp;
use self::provider::{Provider, ProviderError};
use super::error::ApiError;
use crate::application::identity::{Caller, CallerSource, Grant};
use crate::application::ports::{LoginStore, SessionStore, StoreError};
use crate::application::sso::{RoleMap, SsoConfig};
use crate::domain::{Actor, ActorKind};

/// The header a state-changing request signed in by session cookie must carry (any
/// value). A page of another site cannot send a custom header to this origin without a
/// CORS preflight, which the service never grants; with `SameSite=Strict` on the cookie
/// this closes cross-site request forgery. Bearer-token callers need not send it.
pub const CSRF_HEADER: &str = "x-faultline-csrf";

/// Why SSO could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The HTTP client for the provider.
    #[error("failed to set up the HTTP client for the OIDC provider")]
    Http(#[source] reqwest::Error),
}

/// Everything the API needs to sign people in.
pub struct Sso {
    issuer: String,
    config: SsoConfig,
    http: ProviderHttp,
    /// Discovered at the first sign-in (or at start-up), forgotten when an ID token fails
    /// verification so the next sign-in fetches the provider's keys again (a rotation).
    provider: tokio::sync::Mutex<Option<Arc<Provider>>>,
    logins: Arc<dyn LoginStore>,
    sessions: Arc<dyn SessionStore>,
    /// `{public URL}/auth/callback`, as registered at the provider.
    redirect: String,
    /// The public URL with a trailing `/` (where sign-out sends people back to).
    public: String,
    /// The public path with a trailing `/`: the cookies' `Path`, the console's base.
    base: String,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso").field("issuer", &self.issuer).finish()
    }
}

/// 503 for a store failure while reading or writing sessions (logged with its cause).
pub(crate) fn store_unavailable(e: &StoreError) -> ApiError {
    tracing::error!(error = %e, "SSO sessions: the store failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the sign-in sessions could not be reached in the store; try again shortly",
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Sso {
    /// Sign-in through `config`'s provider for a service reached at `public_url`
    /// (`https://host/chaos`), whose console lives at path `base` (`/chaos/`), keeping
    /// sign-ins in flight in `logins` and sessions in `sessions` (both the store, in
    /// `serve`).
    pub fn new(
        config: SsoConfig,
        public_url: &str,
        base: &str,
        logins: Arc<dyn LoginStore>,
        sessions: Arc<dyn SessionStore>,
    ) -> Result<Sso, SsoError> {
        let public = format!("{}/", public_url.trim_end_matches('/'));
        Ok(Sso {
            issuer: config.issuer.clone(),
            redirect: format!("{public}auth/callback"),
            public,
            base: base.to_string(),
            config,
            http: ProviderHttp::new().map_err(SsoError::Http)?,
            provider: tokio::sync::Mutex::new(None),
            logins,
            sessions,
        })
    }

    /// The provider's issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The redirect URI to register at the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect
    }

    /// The role map.
    pub fn roles(&self) -> &RoleMap {
        &self.config.roles
    }

    /// The discovered provider, discovering it now if needed.
    pub async fn provider(&self) -> Result<Arc<Provider>, ProviderError> {
        let mut cached = self.provider.lock().await;
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let p = Arc::new(Provider::discover(&self.config, &self.redirect, &self.http).await?);
        *cached = Some(p.clone());
        Ok(p)
    }

    async fn forget_provider(&self) {
        *self.provider.lock().await = None;
    }

    /// The caller of `req`'s session cookie: `None` without one; a refusal (with who it
    /// names, for the audit log) for an unknown or expired session (401), or for a
    /// state-changing request without [`CSRF_HEADER`] (403).
    pub fn caller(&self, req: &HttpRequest) -> Option<Result<Caller, (Actor, ApiError)>> {
        let id = cookie::read(req, cookie::SESSION)?;
        let unknown = Actor {
            kind: ActorKind::Oidc,
            name: "unknown session".into(),
            project: None,
            git_ref: None,
            pipeline: None,
        };
        let session = match self.sessions.session(&id, now()) {
            Ok(Some(session)) => session,
            Ok(None) => {
                return Some(Err((
                    unknown,
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "the sign-in session is unknown or has expired; sign in again",
                    ),
                )));
            }
            // Never "signed in" on a store failure, and not 401 either: the session may
            // well be valid, so the console should retry rather than sign in again.
            Err(e) => return Some(Err((unknown, store_unavailable(&e)))),
        };
        let safe = matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
        if !safe && !req.headers().contains_key(CSRF_HEADER) {
            return Some(Err((
                session.person.actor(),
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "a request signed in by session cookie that changes something must carry the X-Faultline-CSRF header (the console sends it)",
                ),
            )));
        }
        Some(Ok(Caller {
            grants: vec![Grant::everything("sso", session.role)],
            source: CallerSource::Oidc {
                person: session.person,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::sso::{PendingLogin, Session};
    use actix_web::test::TestRequest;

    /// A store that cannot be reached.
    struct Down;

    fn down() -> StoreError {
        StoreError::Database {
            op: "read session",
            source: Box::new(std::io::Error::other("connection refused")),
        }
    }

    impl LoginStore for Down {
        fn put_login(&self, _: &str, _: &PendingLogin, _: i64) -> Result<(), StoreError> {
            Err(down())
        }
        fn take_login(&self, _: &str, _: i64) -> Result<Option<PendingLogin>, StoreError> {
            Err(down())
        }
    }

    impl SessionStore for Down {
        fn put_session(&self, _: &str, _: &Session, _: i64) -> Result<(), StoreError> {
            Err(down())
        }
        fn session(&self, _: &str, _: i64) -> Result<Option<Session>, StoreError> {
            Err(down())
        }
        fn drop_session(&self, _: &str) -> Result<Option<Session>, StoreError> {
            Err(down())
        }
    }

    #[test]
    fn a_store_failure_is_503_never_signed_in() {
        let config = SsoConfig::parse(
            "issuer: https://sso.example.org\nclientId: app\nroles:\n  claim: groups\n  admin: [a]\n",
            "sso.yaml",
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        let sso = Sso::new(
            config,
            "https://chaos.example.org",
            "/",
            Arc::new(Down),
            Arc::new(Down),
        )
        .unwrap();
        let req = TestRequest::get()
            .insert_header(("cookie", format!("{}=some-session", cookie::SESSION)))
            .to_http_request();
        match sso.caller(&req) {
            Some(Err((_, e))) => assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE),
            Some(Ok(_)) => panic!("a store failure let the cookie in"),
            None => panic!("the cookie was not read"),
        }
    }
}
