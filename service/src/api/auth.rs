//! Bearer tokens with roles and names. Each route names the role it needs by taking one of
//! the extractors [`Viewer`], [`Operator`] or [`Admin`] (each holds the caller as an
//! [`Actor`]; admin passes all); a request without a valid token gets 401, one whose
//! token's role is too low 403, and both refusals are audited. Tokens are compared in
//! constant time.

use std::future::{Ready, ready};
use std::path::Path;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::ApiState;
use crate::domain::{Actor, AuditAction, AuditOutcome, NewAudit};

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

    /// Who the request's bearer token belongs to (the token's name from the tokens file,
    /// never the token); `None` without a token or with an unknown one.
    pub fn caller_of(&self, req: &HttpRequest) -> Option<Caller> {
        self.token_of(req).map(|(role, actor)| Caller {
            name: actor.name,
            role,
        })
    }

    /// The caller of `req` as the app's [`Auth`] sees it.
    pub fn caller(req: &HttpRequest) -> Option<Caller> {
        req.app_data::<web::Data<Auth>>()?.caller_of(req)
    }

    /// The role and name of the request's bearer token; `None` without a token or with
    /// an unknown one.
    pub fn token_of(&self, req: &HttpRequest) -> Option<(Role, Actor)> {
        let Auth::Tokens(tokens) = self else {
            return Some((Role::Admin, Actor::token("anonymous (auth disabled)")));
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
        let mut found: Option<&Token> = None;
        for t in tokens.iter() {
            if bool::from(got.ct_eq(&t.secret)) && found.is_none_or(|f| f.role < t.role) {
                found = Some(t);
            }
        }
        found.map(|t| (t.role, Actor::token(t.name.clone())))
    }

    fn check(req: &HttpRequest, need: Role) -> Result<Actor, ApiError> {
        let auth = req
            .app_data::<web::Data<Auth>>()
            .map(|a| a.get_ref().clone())
            .unwrap_or(Auth::Tokens(Arc::from(Vec::new())));
        let (actor, refusal) = match auth.token_of(req) {
            None => (
                // Never the token itself: only that it was missing or unknown.
                Actor::token("unknown"),
                ApiError::new(StatusCode::UNAUTHORIZED, "missing or unknown bearer token"),
            ),
            Some((r, actor)) if r < need => {
                let message = format!(
                    "this route needs the {} role; the token has {}",
                    need.as_str(),
                    r.as_str()
                );
                (actor, ApiError::new(StatusCode::FORBIDDEN, message))
            }
            Some((_, actor)) => return Ok(actor),
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

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(pub Actor);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                ready(Auth::check(req, $role).map($name))
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
