//! Trust policies: each binds claims of a job's ID token to rights. Every listed claim
//! must match (a list means any of, `*` and `?` glob). Every policy that matches gives
//! its own grant, kept apart: a job admitted by two policies may do what either one
//! allows, never a mix of the two (one's experiments in the other's namespaces).

use serde::Serialize;

use super::claims::IdClaims;
use crate::application::config_file::{Glob, glob_matches};
use crate::application::identity::{Grant, Role};

/// One trust policy.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// Its name, in answers, logs and the run's record.
    pub name: String,
    /// Its line in the config file.
    pub line: usize,
    /// Claim name -> accepted patterns (any of).
    pub claims: Vec<(String, Vec<String>)>,
    /// Experiment-name patterns it may start.
    pub experiments: Vec<String>,
    /// Namespace patterns those experiments may target.
    pub namespaces: Vec<String>,
    /// Its role: viewer or operator.
    pub role: Role,
}

/// Why a policy did not admit a token: the first claim that did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyMiss {
    /// The policy.
    pub policy: String,
    /// The claim.
    pub claim: String,
    /// The token's value, `None` when the token lacks the claim.
    pub got: Option<String>,
    /// What the policy accepts.
    pub wanted: Vec<String>,
}

impl std::fmt::Display for PolicyMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wanted = self.wanted.join("`, `");
        match &self.got {
            Some(v) => write!(
                f,
                "policy `{}`: claim `{}` is `{v}`, not `{wanted}`",
                self.policy, self.claim
            ),
            None => write!(
                f,
                "policy `{}`: the token has no claim `{}` (wanted `{wanted}`)",
                self.policy, self.claim
            ),
        }
    }
}

impl TrustPolicy {
    /// `Ok` when every claim the policy lists matches one of its patterns.
    pub fn check(&self, claims: &IdClaims<'_>) -> Result<(), PolicyMiss> {
        for (name, wanted) in &self.claims {
            let got = claims.get(name);
            let hit = got.is_some_and(|v| wanted.iter().any(|p| glob_matches(p, v)));
            if !hit {
                return Err(PolicyMiss {
                    policy: self.name.clone(),
                    claim: name.clone(),
                    got: got.map(str::to_string),
                    wanted: wanted.clone(),
                });
            }
        }
        Ok(())
    }

    /// The rights this policy gives.
    pub fn grant(&self) -> Grant {
        Grant {
            from: format!("policy `{}`", self.name),
            role: self.role,
            experiments: self.experiments.iter().map(Glob::new).collect(),
            namespaces: self.namespaces.iter().map(Glob::new).collect(),
        }
    }
}

/// The grants of every policy that admits `claims`, or why none does (one miss per
/// policy, in file order).
pub fn admit(
    policies: &[TrustPolicy],
    claims: &IdClaims<'_>,
) -> Result<Vec<Grant>, Vec<PolicyMiss>> {
    let mut grants = Vec::new();
    let mut misses = Vec::new();
    for p in policies {
        match p.check(claims) {
            Ok(()) => grants.push(p.grant()),
            Err(m) => misses.push(m),
        }
    }
    if grants.is_empty() {
        Err(misses)
    } else {
        Ok(grants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, claims: &[(&str, &[&str])]) -> TrustPolicy {
        TrustPolicy {
            name: name.into(),
            line: 1,
            claims: claims
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            experiments: vec!["checkout-*".into()],
            namespaces: vec!["checkout".into()],
            role: Role::Operator,
        }
    }

    fn claims<'a>(pairs: &[(&'a str, &'a str)]) -> IdClaims<'a> {
        IdClaims::of(pairs.iter().copied())
    }

    #[test]
    fn every_claim_must_match_one_of_its_patterns() {
        let p = policy(
            "release",
            &[("project_id", &["42"]), ("ref", &["release-*", "main"])],
        );
        assert!(
            p.check(&claims(&[("project_id", "42"), ("ref", "release-1.2")]))
                .is_ok()
        );
        assert!(
            p.check(&claims(&[("project_id", "42"), ("ref", "main")]))
                .is_ok()
        );
        let miss = p
            .check(&claims(&[("project_id", "42"), ("ref", "feature")]))
            .unwrap_err();
        assert_eq!(
            miss.to_string(),
            "policy `release`: claim `ref` is `feature`, not `release-*`, `main`"
        );
        let absent = p.check(&claims(&[("ref", "main")])).unwrap_err();
        assert_eq!(absent.claim, "project_id");
        assert_eq!(absent.got, None);
    }

    #[test]
    fn each_matching_policy_gives_its_own_grant() {
        let ps = [
            policy("a", &[("project_id", &["42"])]),
            policy("b", &[("project_id", &["7"])]),
            policy("c", &[("namespace_id", &["3"])]),
        ];
        let grants = admit(&ps, &claims(&[("project_id", "42"), ("namespace_id", "3")])).unwrap();
        let from: Vec<&str> = grants.iter().map(|g| g.from.as_str()).collect();
        assert_eq!(from, ["policy `a`", "policy `c`"]);
        let misses = admit(&ps, &claims(&[("project_id", "9")])).unwrap_err();
        assert_eq!(misses.len(), 3);
    }
}
