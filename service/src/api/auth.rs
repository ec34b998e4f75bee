//! Bearer tokens with roles. Each route names the role it needs by taking one of the
//! extractors [`Viewer`] or [`Operator`] (admin passes both); a request without a valid token gets
//! 401, one whose token's role is too low 403. Tokens are compared in constant time.

use std::future::{Ready, ready};
use std::path::Path;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// What a token may do. Ordered: each role may do everything the lower ones may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read runs, events and reports.
    Viewer,
    /// Also create and abort runs.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    /// Parses `viewer` / `operator` / `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// Who made a request: a name to show and the role that decides what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Shown in the console and recorded as who engaged the emergency stop.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

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
        self.caller_of(req).map(|c| c.role)
    }

    /// Who the request's bearer token belongs to; `None` without a token or with an
    /// unknown one. Tokens carry no name in the tokens file, so a caller is named by its
    /// role and the token's place in the file (`operator token 2`): enough to tell two
    /// people apart in the console and the emergency stop's record, never the token.
    pub fn caller_of(&self, req: &HttpRequest) -> Option<Caller> {
        let Auth::Tokens(tokens) = self else {
            return Some(Caller {
                name: "anonymous (authentication disabled)".into(),
                role: Role::Admin,
            });
        };
        let got = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?
            .trim()
            .as_bytes();
        // Every token is compared (no early exit), so the time taken does not say which
        // one matched. `ct_eq` on different lengths is false at once: a token's length is
        // not treated as secret, its bytes are.
        let mut found: Option<(Role, usize)> = None;
        for (i, (role, want)) in tokens.iter().enumerate() {
            if bool::from(got.ct_eq(want)) && found.is_none_or(|(r, _)| *role > r) {
                found = Some((*role, i));
            }
        }
        let (role, index) = found?;
        let nth = tokens[..=index].iter().filter(|(r, _)| *r == role).count();
        Some(Caller {
            name: format!("{} token {nth}", role.as_str()),
            role,
        })
    }

    /// The caller of `req` as the app's [`Auth`] sees it.
    pub fn caller(req: &HttpRequest) -> Option<Caller> {
        req.app_data::<web::Data<Auth>>()?.caller_of(req)
    }

    fn check(req: &HttpRequest, need: Role) -> Result<Role, ApiError> {
        let auth = req
            .app_data::<web::Data<Auth>>()
            .map(|a| a.get_ref().clone())
            .unwrap_or(Auth::Tokens(Arc::from(Vec::new())));
        match auth.role_of(req) {
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or unknown bearer token",
            )),
            Some(r) if r < need => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "this route needs the {} role; the token has {}",
                    need.as_str(),
                    r.as_str()
                ),
            )),
            Some(r) => Ok(r),
        }
    }
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name;

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                ready(Auth::check(req, $role).map(|_| $name))
            }
        }
    };
}

role_extractor!(
    Viewer,
    Role::Viewer,
    "Admits a request whose token is at least viewer."
);
role_extractor!(
    Operator,
    Role::Operator,
    "Admits a request whose token is at least operator."
);
role_extractor!(Admin, Role::Admin, "Admits a request whose token is admin.");

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
