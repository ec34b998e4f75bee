//! Bearer tokens with roles. Each route names the role it needs by taking one of the
//! extractors [`Viewer`] or [`Operator`] (admin passes both); a request without a valid token gets
//! 401, one whose token's role is too low 403. Tokens are compared in constant time.
//! A bearer token shaped like a JWT that is not in the tokens file is verified as a
//! GitLab CI ID token when the service accepts those (`id_token/`); every extractor
//! carries the resulting [`Caller`].

use std::path::Path;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use subtle::ConstantTimeEq;

use futures::future::LocalBoxFuture;

use super::error::ApiError;
use super::id_token::looks_like_jwt;
use super::state::ApiState;
use crate::application::identity::{Caller, CallerSource};

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
    /// A line is not `role:token` with a known role and a non-empty token.
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

/// Who may call the API.
#[derive(Clone)]
pub enum Auth {
    /// Callers must send `Authorization: Bearer <token>` with one of these tokens.
    Tokens(Arc<[(Role, Box<[u8]>)]>),
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
    /// Parses a tokens file: one `role:token` per line; blank lines and `#` comments are
    /// skipped; surrounding whitespace is not part of the token.
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
            let role = Role::parse(role.trim()).ok_or_else(|| {
                bad(format!(
                    "unknown role `{}`; expected viewer, operator or admin",
                    role.trim()
                ))
            })?;
            let token = token.trim();
            if token.is_empty() {
                return Err(bad("empty token".into()));
            }
            tokens.push((role, token.as_bytes().to_vec().into_boxed_slice()));
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
        let Auth::Tokens(tokens) = self else {
            return Some(Role::Admin);
        };
        let got = bearer(req)?.as_bytes();
        // Every token is compared (no early exit), so the time taken does not say which
        // one matched. `ct_eq` on different lengths is false at once: a token's length is
        // not treated as secret, its bytes are.
        let mut found = None;
        for (role, want) in tokens.iter() {
            if bool::from(got.ct_eq(want)) {
                found = found.max(Some(*role));
            }
        }
        found
    }

    /// The static token's role, for a bearer token found in the tokens file.
    fn static_role(&self, req: &HttpRequest) -> Option<Role> {
        match self {
            Auth::Tokens(_) => self.role_of(req),
            Auth::Disabled => None,
        }
    }

    /// The caller of `req`, when it has at least the role `need`: a tokens-file token, or
    /// a GitLab CI job's ID token when the service accepts those (verified, possibly
    /// fetching the issuer's keys: hence async).
    async fn check(req: HttpRequest, need: Role) -> Result<Caller, ApiError> {
        let auth = req
            .app_data::<web::Data<Auth>>()
            .map(|a| a.get_ref().clone())
            .unwrap_or(Auth::Tokens(Arc::from(Vec::new())));
        let caller = if matches!(auth, Auth::Disabled) {
            Caller::unscoped(CallerSource::NoAuth, Role::Admin)
        } else if let Some(role) = auth.static_role(&req) {
            Caller::unscoped(CallerSource::StaticToken, role)
        } else {
            let ids = req
                .app_data::<web::Data<ApiState>>()
                .and_then(|s| s.id_tokens.get().cloned());
            match (ids, bearer(&req)) {
                (Some(ids), Some(token)) if looks_like_jwt(token) => ids.admit(token).await?,
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "missing or unknown bearer token",
                    ));
                }
            }
        };
        let role = caller.role();
        if role < need {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this route needs the {} role; the caller has {}",
                    need.as_str(),
                    role.as_str()
                ),
            ));
        }
        Ok(caller)
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
    fn roles_are_ordered() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
