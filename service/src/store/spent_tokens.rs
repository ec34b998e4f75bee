//! The spent CI ID-token `jti`s on SQLite (`SpentTokens`): one row per `jti` with its
//! token's expiry, so a token that started a run is refused after a restart too. Rows
//! whose token expired are pruned each time one is spent.

use rusqlite::params;

use super::sql::sql;
use super::sqlite::Store;
use crate::application::ports::{SpentTokens, StoreError};

impl SpentTokens for Store {
    fn spend_token(&self, jti: &str, expires: i64, now: i64) -> Result<bool, StoreError> {
        let conn = self.conn();
        conn.execute("DELETE FROM spent_tokens WHERE expires < ?1", [now])
            .map_err(sql("prune spent tokens"))?;
        let added = conn
            .execute(
                "INSERT OR IGNORE INTO spent_tokens (jti, expires) VALUES (?1, ?2)",
                params![jti, expires],
            )
            .map_err(sql("spend token"))?;
        Ok(added == 1)
    }

    fn spent_tokens(&self, now: i64) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM spent_tokens WHERE expires >= ?1",
                [now],
                |r| r.get(0),
            )
            .map_err(sql("count spent tokens"))?;
        Ok(n.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_spent_once_until_its_token_expires() {
        let s = Store::open_in_memory().unwrap();
        assert!(s.spend_token("a", 100, 10).unwrap());
        assert!(!s.spend_token("a", 100, 50).unwrap());
        assert!(s.spend_token("b", 200, 50).unwrap(), "another jti");
        assert!(
            s.spend_token("a", 300, 150).unwrap(),
            "a's token has expired: its row is gone"
        );
        assert_eq!(s.spent_tokens(150).unwrap(), 2, "a (again) and b");
        assert_eq!(s.spent_tokens(250).unwrap(), 1, "b expired at 200");
    }
}
