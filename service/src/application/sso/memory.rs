//! Sessions in memory, keyed by the SHA-256 of their id (a heap dump holds no cookie
//! that works).
//!
//! Why memory and not the store: a session is as short-lived as a sign-in and the store's
//! schema is shared by several changes in flight; the [`SessionStore`] port lets a
//! store-backed set replace this without touching the API. With several replicas behind
//! one URL, sessions then need sticky routing (or that store-backed set): a replica that
//! did not see the sign-in answers 401 and the console signs in again.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::session::Session;
use crate::application::ports::sessions::SessionStore;

/// Most sessions held at once; the oldest-expiring go first beyond it, so a flood of
/// sign-ins cannot grow memory without bound.
pub const MAX_SESSIONS: usize = 10_000;

/// Sessions in this process.
#[derive(Debug, Default)]
pub struct MemorySessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl SessionStore for MemorySessions {
    fn put_session(&self, id: &str, session: Session, now: i64) {
        let mut map = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(key(id), session);
    }

    fn session(&self, id: &str, now: i64) -> Option<Session> {
        let map = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key(id)).filter(|s| s.expires > now).cloned()
    }

    fn drop_session(&self, id: &str) -> Option<Session> {
        let mut map = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&key(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::identity::Role;
    use crate::application::sso::person::Person;

    fn session(expires: i64) -> Session {
        Session {
            person: Person {
                subject: "42".into(),
                display: "alice".into(),
                email: None,
            },
            role: Role::Operator,
            expires,
            id_token: String::new(),
        }
    }

    #[test]
    fn a_session_lives_until_it_expires_or_is_dropped() {
        let s = MemorySessions::default();
        s.put_session("abc", session(100), 0);
        assert_eq!(s.session("abc", 99).map(|s| s.role), Some(Role::Operator));
        assert_eq!(s.session("abc", 100), None, "expired");
        assert_eq!(s.session("abd", 0), None, "another id");
        assert!(s.drop_session("abc").is_some());
        assert_eq!(s.session("abc", 0), None, "dropped");
    }
}
