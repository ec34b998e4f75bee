//! A signed-in person and their session: what the session cookie stands for.

use crate::application::identity::Role;
use crate::domain::{Actor, ActorKind};

/// A person, as the provider's verified ID token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// `sub`: stable and unique at the provider; the audit log's name (`oidc <sub>`).
    pub subject: String,
    /// `preferred_username`, else `email`, else the subject: what the console shows.
    pub display: String,
    /// `email`, when the provider sent it.
    pub email: Option<String>,
}

impl Person {
    /// Who this person is in the audit log and to the veto: `oidc` and their subject.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::Oidc,
            name: self.subject.clone(),
            project: None,
            git_ref: None,
            pipeline: None,
        }
    }
}

/// One signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
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
