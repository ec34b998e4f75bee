//! A sign-in in flight: what `/auth/callback` needs from its `/auth/login`, kept
//! server-side (neither the nonce nor the PKCE verifier ever reaches the browser).

use serde::{Deserialize, Serialize};

/// The nonce and PKCE verifier of one login, until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier the code exchange proves the login with.
    pub verifier: String,
    /// Unix seconds after which the callback is refused.
    pub expires: i64,
}
