//! A person, as the provider's verified ID token names them. Apart from the session
//! (which holds a role) so the caller type can name a person without a circle.

use serde::{Deserialize, Serialize};

use crate::domain::{Actor, ActorKind};

/// A person, as the provider's verified ID token names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
