//! `SessionStore`: where people's sign-in sessions (`application/sso/`) are kept, by
//! the opaque id their cookie carries. Named apart from the CI tokens' spent-`jti` set:
//! sessions are people's, and die with sign-out or expiry. Kept in the store (SQLite or
//! PostgreSQL), so every replica sharing a store knows every session.

use super::store_error::StoreError;
use crate::application::sso::session::Session;

/// Sessions by id. Implementations key them by a hash of the id, never the id itself.
/// Errors are the store's: the API answers 503 on them, never "signed in".
pub trait SessionStore: Send + Sync {
    /// Keeps `session` under `id` (expired ones are dropped now).
    fn put_session(&self, id: &str, session: &Session, now: i64) -> Result<(), StoreError>;
    /// The session of `id`, unless unknown or expired at `now`.
    fn session(&self, id: &str, now: i64) -> Result<Option<Session>, StoreError>;
    /// Ends the session of `id`; the session it was, if any.
    fn drop_session(&self, id: &str) -> Result<Option<Session>, StoreError>;
}
