//! Sign-ins in flight on SQLite (`LoginStore`): one row per OIDC `state`, keyed by its
//! SHA-256 like sessions, taken (deleted) by the callback. Expired rows are pruned, and
//! the table kept to `MAX_PENDING_LOGINS`, each time one is put.

use rusqlite::{OptionalExtension, params};

use super::sessions::key;
use super::sql::{corrupt, sql};
use super::sqlite::Store;
use crate::application::ports::{LoginStore, MAX_PENDING_LOGINS, StoreError};
use crate::application::sso::PendingLogin;

pub(super) fn encode(login: &PendingLogin) -> Result<String, StoreError> {
    serde_json::to_string(login).map_err(corrupt("pending login"))
}

pub(super) fn decode(json: &str) -> Result<PendingLogin, StoreError> {
    serde_json::from_str(json).map_err(corrupt("pending login"))
}

impl LoginStore for Store {
    fn put_login(&self, state: &str, login: &PendingLogin, now: i64) -> Result<(), StoreError> {
        let body = encode(login)?;
        let conn = self.conn();
        conn.execute("DELETE FROM pending_logins WHERE expires <= ?1", [now])
            .map_err(sql("prune pending logins"))?;
        conn.execute(
            "INSERT OR REPLACE INTO pending_logins (key, login_json, expires) VALUES (?1, ?2, ?3)",
            params![key(state), body, login.expires],
        )
        .map_err(sql("put pending login"))?;
        conn.execute(
            "DELETE FROM pending_logins WHERE key NOT IN \
             (SELECT key FROM pending_logins ORDER BY expires DESC LIMIT ?1)",
            [MAX_PENDING_LOGINS],
        )
        .map_err(sql("bound pending logins"))?;
        Ok(())
    }

    fn take_login(&self, state: &str, now: i64) -> Result<Option<PendingLogin>, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "DELETE FROM pending_logins WHERE key = ?1 RETURNING login_json",
                [key(state)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("take pending login"))?;
        let login = body.as_deref().map(decode).transpose()?;
        Ok(login.filter(|l| l.expires > now))
    }
}
