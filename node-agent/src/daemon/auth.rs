//! Bearer-token check for `/v1/*`.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::{FromRequest, HttpRequest, web};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// Who may call `/v1/*`.
#[derive(Clone)]
pub enum Auth {
    /// Callers must send `Authorization: Bearer <token>` with this token.
    Token(Arc<[u8]>),
    /// Anyone may call (`--insecure-no-auth`; tests and local experiments only).
    Disabled,
}

impl std::fmt::Debug for Auth {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Auth::Token(..)"),
            Auth::Disabled => f.write_str("Auth::Disabled"),
        }
    }
}

impl Auth {
    /// A token auth; surrounding whitespace (a trailing newline in a token file) is not
    /// part of the token. `None` if nothing is left.
    pub fn token(token: &str) -> Option<Auth> {
        let t = token.trim();
        (!t.is_empty()).then(|| Auth::Token(Arc::from(t.as_bytes())))
    }

    fn allows(&self, req: &HttpRequest) -> bool {
        let Auth::Token(want) = self else { return true };
        let Some(got) = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        // `ct_eq` on slices of different lengths returns false at once: the length of
        // the token is not treated as secret, its bytes are.
        got.trim().as_bytes().ct_eq(want).into()
    }
}

/// Extractor that admits a request only if it carries the token.
pub(super) struct Authorized;

impl FromRequest for Authorized {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let ok = req
            .app_data::<web::Data<Auth>>()
            .is_some_and(|a| a.allows(req));
        ready(if ok {
            Ok(Authorized)
        } else {
            Err(ApiError::unauthorized())
        })
    }
}
