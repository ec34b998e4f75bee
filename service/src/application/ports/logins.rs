//! `LoginStore`: sign-ins in flight (`/auth/login` to `/auth/callback`), by their OIDC
//! `state`. In the store, so the callback may come back to another replica than the one
//! that sent the browser to the provider.

use super::store_error::StoreError;
use crate::application::sso::PendingLogin;

/// Most sign-ins in flight; beyond it the soonest to expire is forgotten (its callback
/// gets 400). `/auth/login` needs no sign-in, so without a bound anyone could fill the
/// table.
pub const MAX_PENDING_LOGINS: i64 = 1000;

/// Logins by `state`. Implementations key them by a hash of the state.
pub trait LoginStore: Send + Sync {
    /// Keeps `login` under `state` (expired ones are dropped now, and the oldest beyond
    /// [`MAX_PENDING_LOGINS`]).
    fn put_login(&self, state: &str, login: &PendingLogin, now: i64) -> Result<(), StoreError>;
    /// Takes the login of `state`: one use, even across replicas; `None` when unknown,
    /// already taken or expired at `now`.
    fn take_login(&self, state: &str, now: i64) -> Result<Option<PendingLogin>, StoreError>;
}
