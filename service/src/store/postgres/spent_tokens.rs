//! The spent CI ID-token `jti`s on PostgreSQL (`SpentTokens`), shared by every replica:
//! the `jti` is the primary key and spending it is `INSERT ... ON CONFLICT DO NOTHING`,
//! so of two replicas handed the same token at once, one starts a run and the other
//! refuses it. Rows of expired tokens are pruned on the way.

use super::cached::Cached;
use super::connect::{PgStore, pg};
use crate::application::ports::{SpentTokens, StoreError};

impl SpentTokens for PgStore {
    fn spend_token(&self, jti: &str, expires: i64, now: i64) -> Result<bool, StoreError> {
        let jti = jti.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached("DELETE FROM spent_tokens WHERE expires < $1", &[&now])
                .await
                .map_err(pg("prune spent tokens"))?;
            // An expired row of the same jti is gone by now, so a conflict means the
            // token is spent and still valid. A retry after a lost answer finds its own
            // row and refuses: the safe side for a token that may have started a run.
            let added = client
                .execute_cached(
                    "INSERT INTO spent_tokens (jti, expires) VALUES ($1, $2) \
                     ON CONFLICT (jti) DO NOTHING",
                    &[&jti, &expires],
                )
                .await
                .map_err(pg("spend token"))?;
            Ok(added == 1)
        })
    }

    fn spent_tokens(&self, now: i64) -> Result<u64, StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let n: i64 = client
                .query_one_cached(
                    "SELECT COUNT(*) FROM spent_tokens WHERE expires >= $1",
                    &[&now],
                )
                .await
                .map_err(pg("count spent tokens"))?
                .get(0);
            Ok(n.unsigned_abs())
        })
    }
}
