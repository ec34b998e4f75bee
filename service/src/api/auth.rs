//! Bearer tokens with roles and names. Each route names the role it needs by taking one of
//! the extractors [`Viewer`], [`Operator`] or [`Admin`] (admin passes all); each carries
//! the [`Caller`]: who (its audit [`Actor`]) and what it may start. A bearer token shaped
//! like a JWT that is not in the tokens file is verified as a GitLab CI ID token when the
//! service accepts those (`id_token/`). A request without a valid token gets 401, one
//! whose role is too low 403, and both refusals are audited, ID tokens' included. Tokens
//! are compared in constant time. A request without a bearer token may carry a person's
//! session cookie instead (`sso/`, `serve --sso-config`), which resolves to a caller the
//! same way.

use std::path::Path;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use subtle::ConstantTimeEq;

use futures::future::LocalBoxFuture;

use super::error::ApiError;
use super::id_token::{looks_like_jwt, unverified_actor};
use super::state::ApiState;
use crate::application::identity::{Caller, CallerSource};
use crate::domain::{Actor, AuditAction, AuditOutcome, NewAudit};

pub use crate::application::identity::Role;

/// Why a tokens file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file could not be read.
    #[error("failed to read tokens file {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `role:token` (or `role/name:token`) with a known role, a non-empty
    /// token and, if given, a non-empty name.
    #[error("tokens file {path} line {line}: {message}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No token at all: the API would refuse everyone.
    #[error("tokens file {0} holds no token")]
    Empty(String),
}

/// One token of the tokens file.
#[derive(Clone)]
pub struct Token {
    /// What it may do.
    pub role: Role,
    /// Who it is, in the audit log: the `name` of `role/name:token`, else the role and
    /// the line (`operator#3`). Never the secret.
    pub name: String,
    secret: Box<[u8]>,
}

/// Who may call the API.
#[derive(Clone)]
pub enum Auth {
    /// Callers must send `Authorization: Bearer <token>` with one of these tokens.
    Tokens(Arc<[Token]>),
    /// Everyone is admin (`--insecure-no-auth`; loopback only).
    Disabled,
}

impl std::fmt::Debug for Auth {
    // Never print a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Tokens(t) => write!(f, "Auth::Tokens({} tokens)", t.len()),
            Auth::Disabled => f.write_str("Auth::Disabled"),
        }
    }
}

impl Auth {
    /// Parses a tokens file: one `role:token` or `role/name:token` per line (the name is
    /// what the audit log calls the caller); blank lines and `#` comments are skipped;
    /// surrounding whitespace is not part of the token.
    pub fn parse(text: &str, path: &str) -> Result<Auth, TokensError> {
        let mut tokens = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: String| TokensError::Line {
                path: path.to_string(),
                line: i + 1,
                message,
            };
            let (role, token) = line
                .split_once(':')
                .ok_or_else(|| bad("expected `role:token`".into()))?;
            let (role, name) = match role.split_once('/') {
                Some((role, name)) => (role.trim(), Some(name.trim())),
                None => (role.trim(), None),
            };
            let role = Role::parse(role).ok_or_else(|| {
                bad(format!(
                    "unknown role `{role}`; expected viewer, operator or admin"
                ))
            })?;
            let name = match name {
                Some("") => return Err(bad("empty name after `/`".into())),
                Some(n) => n.to_string(),
                None => format!("{}#{}", role.as_str(), i + 1),
            };
            let token = token.trim();
            if token.is_empty() {
                return Err(bad("empty token".into()));
            }
            tokens.push(Token {
                role,
                name,
                secret: token.as_bytes().to_vec().into_boxed_slice(),
            });
        }
        if tokens.is_empty() {
            return Err(TokensError::Empty(path.to_string()));
        }
        Ok(Auth::Tokens(tokens.into()))
    }

    /// Reads and parses a tokens file.
    pub fn from_file(path: &Path) -> Result<Auth, TokensError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: shown.clone(),
            source,
        })?;
        Auth::parse(&text, &shown)
    }

    /// The role of the request's bearer token; `None` without a token or with an unknown
    /// one.
    pub fn role_of(&self, req: &HttpRequest) -> Option<Role> {
        self.token_of(req).map(|(role, _)| role)
    }

    /// The role and name of the request's bearer token; `None` without a token or with
    /// an unknown one.
    pub fn token_of(&self, req: &HttpRequest) -> Option<(Role, Actor)> {
        let Auth::Tokens(tokens) = self else {
            return Some((Role::Admin, Actor::token("anonymous (auth disabled)")));
        };
        let got = bearer(req)?.as_bytes();
        // Every token is compared (no early exit), so the time taken does not say which
        // one matched. `ct_eq` on different lengths is false at once: a token's length is
        // not treated as secret, its bytes are.
        let mut found: Option<&Token> = None;
        for t in tokens.iter() {
            if bool::from(got.ct_eq(&t.secret)) && found.is_none_or(|f| f.role < t.role) {
                found = Some(t);
            }
        }
        found.map(|t| (t.role, Actor::token(t.name.clone())))
    }

    /// The caller of a tokens-file token (or everyone, without authentication).
    fn static_caller(&self, req: &HttpRequest) -> Option<Caller> {
        match self {
            Auth::Disabled => Some(Caller::unscoped(CallerSource::NoAuth, Role::Admin)),
            Auth::Tokens(_) => self.token_of(req).map(|(role, actor)| {
                Caller::unscoped(CallerSource::StaticToken { name: actor.name }, role)
            }),
        }
    }

    /// Who `req` comes from, whatever the role: a tokens-file token, or a GitLab CI job's
    /// ID token when the service accepts those (verified, possibly fetching the issuer's
    /// keys: hence async). A refusal carries who it names for the audit log (never the
    /// token). Not audited here: [`Auth::check`] audits, `whoami` only asks.
    pub async fn identify(req: &HttpRequest) -> Result<Caller, (Actor, ApiError)> {
        let auth = req
            .app_data::<web::Data<Auth>>()
            .map(|a| a.get_ref().clone())
            .unwrap_or(Auth::Tokens(Arc::from(Vec::new())));
        if let Some(caller) = auth.static_caller(req) {
            return Ok(caller);
        }
        // A person's session cookie, when the request carries no bearer token (a script's
        // token wins over a browser's leftover cookie).
        if bearer(req).is_none()
            && let Some(found) = req
                .app_data::<web::Data<ApiState>>()
                .and_then(|s| s.sso.get())
                .and_then(|sso| sso.caller(req))
        {
            return found;
        }
        let ids = req
            .app_data::<web::Data<ApiState>>()
            .and_then(|s| s.id_tokens.get().cloned());
        match (ids, bearer(req)) {
            (Some(ids), Some(token)) if looks_like_jwt(token) => ids
                .admit(token)
                .await
                .map_err(|refusal| (unverified_actor(token), refusal)),
            // Never the token itself: only that it was missing or unknown.
            _ => Err((
                Actor::token("unknown"),
                ApiError::new(StatusCode::UNAUTHORIZED, "missing or unknown bearer token"),
            )),
        }
    }

    /// The caller of `req`, when it has at least the role `need`; a refusal (401 or 403,
    /// a static token's or an ID token's) is audited.
    async fn check(req: HttpRequest, need: Role) -> Result<Caller, ApiError> {
        let (actor, refusal) = match Auth::identify(&req).await {
            Ok(caller) if caller.role() >= need => return Ok(caller),
            Ok(caller) => {
                let message = format!(
                    "this route needs the {} role; the caller has {}",
                    need.as_str(),
                    caller.role().as_str()
                );
                (
                    caller.actor(),
                    ApiError::new(StatusCode::FORBIDDEN, message),
                )
            }
            Err(refused) => refused,
        };
        if let Some(state) = req.app_data::<web::Data<ApiState>>() {
            let object = format!("{} {}", req.method(), req.path());
            state
                .live
                .audit()
                .record(NewAudit::ok(actor, AuditAction::Access, object).ended(
                    AuditOutcome::Refused,
                    format!("{}: {}", refusal.status.as_u16(), refusal.error),
                ));
        }
        Err(refusal)
    }
}

/// The request's bearer token.
fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        /// It carries the caller: who, and what it may start.
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move { Auth::check(req, $role).await.map($name) })
            }
        }
    };
}

role_extractor!(
    Viewer,
    Role::Viewer,
    "Admits a request whose caller is at least viewer."
);
role_extractor!(
    Operator,
    Role::Operator,
    "Admits a request whose caller is at least operator."
);
role_extractor!(
    Admin,
    Role::Admin,
    "Admits a request whose caller is admin."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_lines_name_the_problem() {
        let ok = Auth::parse("# comment\n\nviewer: v1\nadmin:a1\n", "t").unwrap();
        assert!(matches!(ok, Auth::Tokens(t) if t.len() == 2));
        let e = Auth::parse("viewer:v\nroot:x\n", "t").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(e.to_string().contains("root"), "{e}");
        assert!(Auth::parse("operator:\n", "t").is_err());
        assert!(Auth::parse("justatoken\n", "t").is_err());
        assert!(matches!(
            Auth::parse("# none\n", "t"),
            Err(TokensError::Empty(_))
        ));
    }

    #[test]
    fn tokens_have_names_given_or_from_their_line() {
        let Auth::Tokens(t) = Auth::parse(
            "# ci\noperator/deploy-bot: s3cret-1\nviewer:s3cret-2\n",
            "t",
        )
        .unwrap() else {
            panic!("tokens expected");
        };
        let names: Vec<(&str, Role)> = t.iter().map(|t| (t.name.as_str(), t.role)).collect();
        assert_eq!(
            names,
            [("deploy-bot", Role::Operator), ("viewer#3", Role::Viewer)]
        );
        let e = Auth::parse("admin/:x\n", "t").unwrap_err();
        assert!(e.to_string().contains("line 1: empty name"), "{e}");
        let e = Auth::parse("root/bob:x\n", "t").unwrap_err();
        assert!(e.to_string().contains("unknown role `root`"), "{e}");
        // The name is never the secret, and Debug shows neither.
        assert!(
            !format!("{:?}", Auth::parse("admin:topsecret\n", "t").unwrap()).contains("topsecret")
        );
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
