//! Sign-ins in flight on PostgreSQL (`LoginStore`), shared by every replica: the callback
//! may come back to any of them. Taking is `DELETE ... RETURNING`, so of two callbacks
//! with one `state` (on one replica or two) only one gets the login.

use super::super::logins::{decode, encode};
use super::super::sessions::key;
use super::cached::Cached;
use super::connect::{PgStore, pg};
use crate::application::ports::{LoginStore, MAX_PENDING_LOGINS, StoreError};
use crate::application::sso::PendingLogin;

impl LoginStore for PgStore {
    fn put_login(&self, state: &str, login: &PendingLogin, now: i64) -> Result<(), StoreError> {
        let (key, body, expires) = (key(state), encode(login)?, login.expires);
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached("DELETE FROM pending_logins WHERE expires <= $1", &[&now])
                .await
                .map_err(pg("prune pending logins"))?;
            client
                .execute_cached(
                    "INSERT INTO pending_logins (key, login_json, expires) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET login_json = $2, expires = $3",
                    &[&key, &body, &expires],
                )
                .await
                .map_err(pg("put pending login"))?;
            client
                .execute_cached(
                    "DELETE FROM pending_logins WHERE key NOT IN \
                     (SELECT key FROM pending_logins ORDER BY expires DESC LIMIT $1)",
                    &[&MAX_PENDING_LOGINS],
                )
                .await
                .map_err(pg("bound pending logins"))?;
            Ok(())
        })
    }

    fn take_login(&self, state: &str, now: i64) -> Result<Option<PendingLogin>, StoreError> {
        let key = key(state);
        let body: Option<String> = self.call(move |inner| async move {
            let client = inner.client().await?;
            let row = client
                .query_opt_cached(
                    "DELETE FROM pending_logins WHERE key = $1 RETURNING login_json",
                    &[&key],
                )
                .await
                .map_err(pg("take pending login"))?;
            Ok(row.map(|r| r.get(0)))
        })?;
        let login = body.as_deref().map(decode).transpose()?;
        Ok(login.filter(|l| l.expires > now))
    }
}
