//! People's sign-in sessions on SQLite (`SessionStore`): one row per session, keyed by
//! the SHA-256 of its id (a copy of the database holds no cookie that works), with the
//! session as JSON and its expiry. Expired rows are pruned each time one is put.
//! [`key`], [`encode`] and [`decode`] are shared with the PostgreSQL store.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::sql::{corrupt, sql};
use super::sqlite::Store;
use crate::application::ports::{SessionStore, StoreError};
use crate::application::sso::Session;

/// The row key of session `id`: its SHA-256, hex.
pub(super) fn key(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn encode(session: &Session) -> Result<String, StoreError> {
    serde_json::to_string(session).map_err(corrupt("session"))
}

pub(super) fn decode(json: &str) -> Result<Session, StoreError> {
    serde_json::from_str(json).map_err(corrupt("session"))
}

impl SessionStore for Store {
    fn put_session(&self, id: &str, session: &Session, now: i64) -> Result<(), StoreError> {
        let body = encode(session)?;
        let conn = self.conn();
        conn.execute("DELETE FROM sessions WHERE expires <= ?1", [now])
            .map_err(sql("prune sessions"))?;
        conn.execute(
            "INSERT OR REPLACE INTO sessions (key, session_json, expires) VALUES (?1, ?2, ?3)",
            params![key(id), body, session.expires],
        )
        .map_err(sql("put session"))?;
        Ok(())
    }

    fn session(&self, id: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT session_json FROM sessions WHERE key = ?1 AND expires > ?2",
                params![key(id), now],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read session"))?;
        body.as_deref().map(decode).transpose()
    }

    fn drop_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "DELETE FROM sessions WHERE key = ?1 RETURNING session_json",
                [key(id)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("drop session"))?;
        body.as_deref().map(decode).transpose()
    }
}
