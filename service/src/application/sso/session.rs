//! A signed-in person's session: what the session cookie stands for.

use serde::{Deserialize, Serialize};

use super::person::Person;
use crate::application::identity::Role;

/// One signed-in browser. Serialized (JSON) as a store row's body, so every replica
/// sharing the store reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Who signed in.
    pub person: Person,
    /// The role the role map gave at sign-in (kept for the session's life: a group
    /// change at the provider takes effect at the next sign-in).
    pub role: Role,
    /// Unix seconds after which the session is refused.
    pub expires: i64,
    /// The raw ID token, kept only as `id_token_hint` for the provider's logout.
    pub id_token: String,
}
