//! People's sign-in sessions on PostgreSQL (`SessionStore`), shared by every replica: a
//! person signed in through one replica is known to all, and sign-out on any ends the
//! session everywhere. Rows are keyed by the SHA-256 of the id, hold the session as JSON,
//! and are pruned once expired each time one is put.

use super::super::sessions::{decode, encode, key};
use super::cached::Cached;
use super::connect::{PgStore, pg};
use crate::application::ports::{SessionStore, StoreError};
use crate::application::sso::Session;

impl SessionStore for PgStore {
    fn put_session(&self, id: &str, session: &Session, now: i64) -> Result<(), StoreError> {
        let (key, body, expires) = (key(id), encode(session)?, session.expires);
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached("DELETE FROM sessions WHERE expires <= $1", &[&now])
                .await
                .map_err(pg("prune sessions"))?;
            // An upsert, so a retry after a lost answer writes the same row again.
            client
                .execute_cached(
                    "INSERT INTO sessions (key, session_json, expires) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET session_json = $2, expires = $3",
                    &[&key, &body, &expires],
                )
                .await
                .map_err(pg("put session"))?;
            Ok(())
        })
    }

    fn session(&self, id: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let key = key(id);
        let body: Option<String> = self.call(move |inner| async move {
            let client = inner.client().await?;
            let row = client
                .query_opt_cached(
                    "SELECT session_json FROM sessions WHERE key = $1 AND expires > $2",
                    &[&key, &now],
                )
                .await
                .map_err(pg("read session"))?;
            Ok(row.map(|r| r.get(0)))
        })?;
        body.as_deref().map(decode).transpose()
    }

    fn drop_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let key = key(id);
        let body: Option<String> = self.call(move |inner| async move {
            let client = inner.client().await?;
            let row = client
                .query_opt_cached(
                    "DELETE FROM sessions WHERE key = $1 RETURNING session_json",
                    &[&key],
                )
                .await
                .map_err(pg("drop session"))?;
            Ok(row.map(|r| r.get(0)))
        })?;
        body.as_deref().map(decode).transpose()
    }
}
