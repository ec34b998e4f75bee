//! Sign-ins in flight: between `/auth/login` sending the browser to the provider and
//! `/auth/callback` bringing it back, the nonce and PKCE verifier wait here under the
//! `state` (kept server-side: neither ever reaches the browser). One use each, ten
//! minutes at most, a bounded number. In memory: the callback must reach the replica
//! that sent the browser out (one replica, or sticky sessions at the ingress).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::{Nonce, PkceCodeVerifier};

/// How long a sign-in may stay at the provider.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(600);
/// Most sign-ins in flight; beyond it the oldest is forgotten (its callback gets 400).
const MAX_PENDING: usize = 1000;

/// What the callback needs from its login.
pub struct Pending {
    /// The nonce the ID token must carry.
    pub nonce: Nonce,
    /// The PKCE verifier the code exchange proves the login with.
    pub verifier: PkceCodeVerifier,
    started: Instant,
}

/// The sign-ins in flight, by `state`.
#[derive(Default)]
pub struct PendingLogins(Mutex<HashMap<String, Pending>>);

impl PendingLogins {
    /// Remembers a login under `state`.
    pub fn insert(&self, state: String, nonce: Nonce, verifier: PkceCodeVerifier) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, p| p.started.elapsed() < LOGIN_TIMEOUT);
        if map.len() >= MAX_PENDING
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            state,
            Pending {
                nonce,
                verifier,
                started: Instant::now(),
            },
        );
    }

    /// Takes the login of `state` (one use), unless unknown or too old.
    pub fn take(&self, state: &str) -> Option<Pending> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(state)
            .filter(|p| p.started.elapsed() < LOGIN_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_taken_once() {
        let p = PendingLogins::default();
        p.insert(
            "s".into(),
            Nonce::new("n".into()),
            PkceCodeVerifier::new("v".repeat(43)),
        );
        assert!(p.take("t").is_none());
        assert_eq!(
            p.take("s").map(|p| p.nonce.secret().clone()).as_deref(),
            Some("n")
        );
        assert!(
            p.take("s").is_none(),
            "a second callback with the same state"
        );
    }
}
