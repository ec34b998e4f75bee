//! Verifying one ID token: the header's `alg` and `kid` first (RS256 only, so neither
//! `alg: none` nor an HS256 token keyed with the public key gets near a key), the
//! signature with the issuer's key for that `kid`, then (from the payload, decoded only
//! now) `exp`, `nbf` and `iat` with the configured leeway, `iss` and `aud`, then the
//! trust policies. The claims a refusal shows are read only after the signature
//! verified, except where the answer says so.

use jsonwebtoken::Algorithm;

use super::keys::KeySet;
use super::token::{Parts, Payload};
use crate::application::ci_identity::policy::admit;
use crate::application::ci_identity::{IdTokenConfig, Refusal};
use crate::application::identity::{Caller, CallerSource};

/// Whether a bearer token has a JWT's shape (`eyJ…` header, three parts): only those
/// are verified as ID tokens; anything else is looked up in the tokens file.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

/// The checks, over one issuer's keys.
pub struct Verifier {
    config: IdTokenConfig,
    keys: KeySet,
}

impl Verifier {
    /// A verifier for `config`; keys are fetched on first use.
    pub fn new(config: IdTokenConfig) -> Result<Verifier, reqwest::Error> {
        let keys = KeySet::new(&config.issuer, config.keys_cooldown)?;
        Ok(Verifier { config, keys })
    }

    /// The configuration it checks against.
    pub fn config(&self) -> &IdTokenConfig {
        &self.config
    }

    /// The caller a valid token admitted by at least one policy stands for.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Caller, Refusal> {
        let parts = Parts::split(token)?;
        let mut buf = Vec::with_capacity(128);
        let header = parts.header(&mut buf)?;
        let alg = header.alg.as_deref().unwrap_or("");
        if alg != "RS256" {
            return Err(Refusal::Algorithm(alg.to_string()));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| Refusal::Malformed("the header has no `kid`".into()))?;
        let key = self.keys.key(kid).await?;
        let signed = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signed.as_bytes(),
            &key,
            Algorithm::RS256,
        )
        .map_err(|_| Refusal::Malformed("the signature is not base64url".into()))?;
        if !signed {
            return Err(Refusal::Signature);
        }
        // Only a signed payload is read: the values a refusal shows are GitLab's.
        let payload = parts.payload(&mut buf)?;
        self.check_registered(&payload, now)?;
        let claims = &payload.claims;
        let jti = claims
            .get("jti")
            .ok_or_else(|| Refusal::MissingClaim("jti".into()))?
            .to_string();
        let job = claims
            .job()
            .ok_or_else(|| Refusal::MissingClaim("project_id, project_path or sha".into()))?;
        let grants = admit(&self.config.policies, claims).map_err(Refusal::NoPolicy)?;
        Ok(Caller {
            source: CallerSource::CiJob {
                job,
                jti,
                expires: payload.exp.unwrap_or(now),
            },
            grants,
        })
    }

    /// The registered claims, in RFC 7519's order of concern: present (`exp`, `iat`,
    /// `iss`, `aud`), in time (`exp`, `nbf`, `iat`, each with the leeway), from the
    /// configured issuer and for one of the configured audiences.
    fn check_registered(&self, p: &Payload<'_>, now: i64) -> Result<(), Refusal> {
        let leeway = self.config.leeway.as_secs() as i64;
        let missing = |c: &str| Refusal::MissingClaim(c.to_string());
        let exp = p.exp.ok_or_else(|| missing("exp"))?;
        let iat = p.iat.ok_or_else(|| missing("iat"))?;
        let iss = p.claims.get("iss").ok_or_else(|| missing("iss"))?;
        if p.aud.is_empty() {
            return Err(missing("aud"));
        }
        if exp < now - leeway {
            return Err(Refusal::Expired);
        }
        if p.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(Refusal::NotYetValid);
        }
        if iat > now + leeway {
            return Err(Refusal::IssuedInFuture);
        }
        if iss != self.config.issuer {
            return Err(Refusal::Issuer {
                got: iss.to_string(),
                want: self.config.issuer.clone(),
            });
        }
        if !p
            .aud
            .iter()
            .any(|a| self.config.audience.iter().any(|c| c == a))
        {
            return Err(Refusal::Audience {
                got: p.aud.join(", "),
                want: self
                    .config
                    .audience
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwt_shapes_are_verified_as_id_tokens() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.c2ln"));
        assert!(!looks_like_jwt("operator-token-123"));
        assert!(!looks_like_jwt("eyJ.only-two"));
    }

    fn verifier() -> Verifier {
        let config = IdTokenConfig::parse(
            "issuer: https://gitlab.test\naudience: [https://a.test, https://b.test]\nleeway: 30s\npolicies:\n  - name: p\n    claims: { project_id: \"42\" }\n    experiments: [\"*\"]\n    namespaces: [\"*\"]\n",
            "t.yaml",
        )
        .unwrap();
        Verifier::new(config).unwrap()
    }

    fn payload<'a>(aud: &[&'a str], exp: i64, nbf: Option<i64>, iat: i64) -> Payload<'a> {
        let mut p = Payload {
            aud: aud.iter().map(|a| (*a).into()).collect(),
            exp: Some(exp),
            nbf,
            iat: Some(iat),
            ..Payload::default()
        };
        p.claims.push("iss".into(), "https://gitlab.test".into());
        p
    }

    #[test]
    fn registered_claims_are_checked_with_the_leeway_on_each_side() {
        let v = verifier();
        let now = 1_700_000_000;
        let ok = |p: &Payload| v.check_registered(p, now);
        assert_eq!(
            ok(&payload(
                &["https://b.test"],
                now - 30,
                Some(now + 30),
                now + 30
            )),
            Ok(())
        );
        assert_eq!(
            ok(&payload(&["https://a.test"], now - 31, None, now)),
            Err(Refusal::Expired)
        );
        assert_eq!(
            ok(&payload(&["https://a.test"], now + 60, Some(now + 31), now)),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            ok(&payload(&["https://a.test"], now + 60, None, now + 31)),
            Err(Refusal::IssuedInFuture)
        );
        // One of several audiences is enough; none of them is a refusal naming both sides.
        assert_eq!(
            ok(&payload(
                &["https://x.test", "https://a.test"],
                now + 60,
                None,
                now
            )),
            Ok(())
        );
        let Err(Refusal::Audience { got, want }) =
            ok(&payload(&["https://x.test"], now + 60, None, now))
        else {
            panic!("a foreign audience is refused")
        };
        assert_eq!(
            (got.as_str(), want.as_str()),
            ("https://x.test", "`https://a.test` or `https://b.test`")
        );
        let mut other = payload(&["https://a.test"], now + 60, None, now);
        other
            .claims
            .push("iss".into(), "https://gitlab.example.org".into());
        assert!(matches!(ok(&other), Err(Refusal::Issuer { .. })));
    }

    #[test]
    fn each_required_registered_claim_is_named_when_absent() {
        let v = verifier();
        let now = 1_700_000_000;
        let full = || payload(&["https://a.test"], now + 60, None, now);
        let mut p = full();
        p.exp = None;
        assert_eq!(
            v.check_registered(&p, now),
            Err(Refusal::MissingClaim("exp".into()))
        );
        let mut p = full();
        p.iat = None;
        assert_eq!(
            v.check_registered(&p, now),
            Err(Refusal::MissingClaim("iat".into()))
        );
        let mut p = full();
        p.claims.remove("iss");
        assert_eq!(
            v.check_registered(&p, now),
            Err(Refusal::MissingClaim("iss".into()))
        );
        let mut p = full();
        p.aud.clear();
        assert_eq!(
            v.check_registered(&p, now),
            Err(Refusal::MissingClaim("aud".into()))
        );
    }
}
