//! Which role a person gets: one claim of the verified ID token (`groups`, GitLab's
//! `groups_direct`, ...) against the values listed per role. The highest role whose list
//! matches any of the claim's values wins; no match is a refusal that says which claim
//! and values were seen, so the person (and the admin reading the log) knows why.

use serde_json::Value;

use crate::application::config_file::Glob;
use crate::application::identity::Role;

/// `roles:` of the SSO config.
#[derive(Debug, Clone)]
pub struct RoleMap {
    /// The claim read (a string, a number, a boolean, or a list of them).
    pub claim: String,
    /// Per role, the claim values (globs: `platform/*`) that give it; highest role first.
    pub grants: Vec<(Role, Vec<Glob>)>,
}

/// Why a signed-in person gets no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleRefusal {
    /// The ID token does not carry the claim (or carries an object under it).
    #[error(
        "the ID token carries no `{claim}` claim; ask the provider's admin to include it (scope or mapper)"
    )]
    NoClaim {
        /// The claim.
        claim: String,
    },
    /// None of the values matches any role's list.
    #[error("none of your `{claim}` values ({seen}) is mapped to a role on this server")]
    NoMatch {
        /// The claim.
        claim: String,
        /// The values seen, comma-separated (empty list: `none`).
        seen: String,
    },
}

impl RoleMap {
    /// The role `claims` (the ID token's, verified) give, highest first.
    pub fn role_of(&self, claims: &serde_json::Map<String, Value>) -> Result<Role, RoleRefusal> {
        let values = match claims.get(&self.claim).map(values_of) {
            Some(Some(v)) => v,
            _ => {
                return Err(RoleRefusal::NoClaim {
                    claim: self.claim.clone(),
                });
            }
        };
        let mut grants: Vec<&(Role, Vec<Glob>)> = self.grants.iter().collect();
        grants.sort_by_key(|g| std::cmp::Reverse(g.0));
        for (role, patterns) in grants {
            if values.iter().any(|v| patterns.iter().any(|p| p.matches(v))) {
                return Ok(*role);
            }
        }
        Err(RoleRefusal::NoMatch {
            claim: self.claim.clone(),
            seen: if values.is_empty() {
                "none".into()
            } else {
                values.join(", ")
            },
        })
    }
}

/// A claim's values as text; `None` for an object or a list holding one.
fn values_of(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> RoleMap {
        let g = |p: &[&str]| p.iter().map(|s| Glob::new(*s)).collect();
        RoleMap {
            claim: "groups".into(),
            grants: vec![
                (Role::Viewer, g(&["platform", "platform/*"])),
                (Role::Operator, g(&["platform/sre"])),
                (Role::Admin, g(&["platform/chaos-admins"])),
            ],
        }
    }

    fn claims(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_highest_matching_role_wins() {
        let m = map();
        let c = claims(serde_json::json!({"groups": ["platform/sre", "platform/docs"]}));
        assert_eq!(m.role_of(&c), Ok(Role::Operator));
        let c = claims(serde_json::json!({"groups": ["platform/chaos-admins", "platform"]}));
        assert_eq!(m.role_of(&c), Ok(Role::Admin));
        let c = claims(serde_json::json!({"groups": "platform"}));
        assert_eq!(m.role_of(&c), Ok(Role::Viewer));
    }

    #[test]
    fn no_claim_or_no_match_is_refused_with_what_was_seen() {
        let m = map();
        let e = m
            .role_of(&claims(serde_json::json!({"groups": ["sales"]})))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "none of your `groups` values (sales) is mapped to a role on this server"
        );
        let e = m
            .role_of(&claims(serde_json::json!({"email": "a@b"})))
            .unwrap_err();
        assert!(matches!(e, RoleRefusal::NoClaim { .. }), "{e}");
        let e = m
            .role_of(&claims(serde_json::json!({"groups": {"platform": true}})))
            .unwrap_err();
        assert!(matches!(e, RoleRefusal::NoClaim { .. }), "{e}");
        let e = m
            .role_of(&claims(serde_json::json!({"groups": []})))
            .unwrap_err();
        assert!(e.to_string().contains("(none)"), "{e}");
    }
}
