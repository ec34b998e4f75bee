//! The `jti`s that already started a run, each kept until its token expires: a token
//! copied out of a job log cannot start chaos a second time. Held in memory, which is
//! right for one replica; with several replicas behind one address a token could start
//! one run on each, until the set lives in the shared store (a follow-up of the
//! PostgreSQL store).

use std::collections::HashMap;
use std::sync::Mutex;

/// Spent `jti`s with their tokens' expiry (Unix seconds).
#[derive(Debug, Default)]
pub struct SpentJtis {
    spent: Mutex<HashMap<String, i64>>,
}

impl SpentJtis {
    /// Records `jti` (valid until `expires`) as spent at `now`; `false` when it already
    /// was and has not expired. Expired entries are dropped on the way, so the set holds
    /// at most the tokens still valid.
    pub fn spend(&self, jti: &str, expires: i64, now: i64) -> bool {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        spent.retain(|_, exp| *exp >= now);
        if spent.contains_key(jti) {
            return false;
        }
        spent.insert(jti.to_string(), expires);
        true
    }

    /// How many are held.
    pub fn len(&self) -> usize {
        self.spent.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// None held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_spent_once_until_its_token_expires() {
        let s = SpentJtis::default();
        assert!(s.spend("a", 100, 10));
        assert!(!s.spend("a", 100, 50));
        assert!(s.spend("b", 200, 50), "another jti");
        assert!(
            s.spend("a", 300, 150),
            "a's token has expired: its entry is gone"
        );
        assert_eq!(s.len(), 2, "a (again) and b");
    }
}
