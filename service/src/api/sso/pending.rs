//! Sign-ins in flight: between `/auth/login` sending the browser to the provider and
//! `/auth/callback` bringing it back, the nonce and PKCE verifier wait in the store
//! (the `LoginStore` port) under the `state`, kept server-side: neither ever reaches the
//! browser. One use each, ten minutes at most, a bounded number. In the store, so with
//! several replicas on PostgreSQL the callback may come back to any of them.

use std::time::Duration;

use openidconnect::{Nonce, PkceCodeVerifier};

use crate::application::ports::{LoginStore, StoreError};
use crate::application::sso::PendingLogin;

/// How long a sign-in may stay at the provider.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

/// What the callback needs from its login.
pub struct Pending {
    /// The nonce the ID token must carry.
    pub nonce: Nonce,
    /// The PKCE verifier the code exchange proves the login with.
    pub verifier: PkceCodeVerifier,
}

/// Remembers a login under `state`, started at `now`.
pub fn remember(
    logins: &dyn LoginStore,
    state: &str,
    nonce: &Nonce,
    verifier: &PkceCodeVerifier,
    now: i64,
) -> Result<(), StoreError> {
    let login = PendingLogin {
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        expires: now + LOGIN_TIMEOUT.as_secs() as i64,
    };
    logins.put_login(state, &login, now)
}

/// Takes the login of `state` (one use), unless unknown or too old at `now`.
pub fn take(logins: &dyn LoginStore, state: &str, now: i64) -> Result<Option<Pending>, StoreError> {
    Ok(logins.take_login(state, now)?.map(|l| Pending {
        nonce: Nonce::new(l.nonce),
        verifier: PkceCodeVerifier::new(l.verifier),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_login_is_taken_once_and_not_after_ten_minutes() {
        let s = Store::open_in_memory().unwrap();
        let (nonce, verifier) = (
            Nonce::new("n".into()),
            PkceCodeVerifier::new("v".repeat(43)),
        );
        remember(&s, "s", &nonce, &verifier, 1000).unwrap();
        assert!(take(&s, "t", 1000).unwrap().is_none());
        let got = take(&s, "s", 1001).unwrap().unwrap();
        assert_eq!(got.nonce.secret(), "n");
        assert_eq!(got.verifier.secret(), &"v".repeat(43));
        assert!(
            take(&s, "s", 1001).unwrap().is_none(),
            "a second callback with the same state"
        );
        remember(&s, "late", &nonce, &verifier, 1000).unwrap();
        assert!(take(&s, "late", 1600).unwrap().is_none(), "ten minutes on");
    }
}
