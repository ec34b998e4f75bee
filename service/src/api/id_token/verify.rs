//! Verifying one ID token: the header's `alg` and `kid` first (RS256 only, so neither
//! `alg: none` nor an HS256 token keyed with the public key gets near a key), the
//! signature with the issuer's key for that `kid`, then `iss`, `aud`, `exp`, `nbf` and
//! `iat` with the configured leeway, then the trust policies. The claims a refusal shows
//! are read only after the signature verified, except where the answer says so.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::keys::KeySet;
use crate::application::ci_identity::policy::admit;
use crate::application::ci_identity::{IdClaims, IdTokenConfig, Refusal};
use crate::application::identity::{Caller, CallerSource};

/// Whether a bearer token has a JWT's shape (`eyJ…` header, three parts): only those
/// are verified as ID tokens; anything else is looked up in the tokens file.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

/// One part of a JWT, decoded as a JSON object, without verifying anything.
pub(super) fn peek(token: &str, part: usize) -> Option<Map<String, Value>> {
    let text = token.split('.').nth(part)?;
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The checks, over one issuer's keys.
pub struct Verifier {
    config: IdTokenConfig,
    keys: KeySet,
    validation: Validation,
}

impl Verifier {
    /// A verifier for `config`; keys are fetched on first use.
    pub fn new(config: IdTokenConfig) -> Result<Verifier, reqwest::Error> {
        let keys = KeySet::new(&config.issuer, config.keys_cooldown)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&config.audience);
        validation.leeway = config.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        Ok(Verifier {
            config,
            keys,
            validation,
        })
    }

    /// The configuration it checks against.
    pub fn config(&self) -> &IdTokenConfig {
        &self.config
    }

    /// The caller a valid token admitted by at least one policy stands for.
    pub async fn verify(&self, token: &str, now: i64) -> Result<(Caller, IdClaims), Refusal> {
        let header = peek(token, 0)
            .ok_or_else(|| Refusal::Malformed("the header is not base64url JSON".into()))?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "RS256" {
            return Err(Refusal::Algorithm(alg.to_string()));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| Refusal::Malformed("the header has no `kid`".into()))?;
        let key = self.keys.key(kid).await?;
        let payload = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|e| self.refusal(e.into_kind(), token))?
            .claims;
        let leeway = self.config.leeway.as_secs() as i64;
        let iat = payload.get("iat").and_then(Value::as_i64).unwrap_or(0);
        if iat > now + leeway {
            return Err(Refusal::IssuedInFuture);
        }
        let claims = IdClaims::from_json(&payload);
        let jti = claims
            .get("jti")
            .ok_or_else(|| Refusal::MissingClaim("jti".into()))?
            .to_string();
        let job = claims
            .job()
            .ok_or_else(|| Refusal::MissingClaim("project_id, project_path or sha".into()))?;
        let expires = payload.get("exp").and_then(Value::as_i64).unwrap_or(now);
        let grants = admit(&self.config.policies, &claims).map_err(Refusal::NoPolicy)?;
        let caller = Caller {
            source: CallerSource::CiJob { job, jti, expires },
            grants,
        };
        Ok((caller, claims))
    }

    /// The refusal for a `jsonwebtoken` error. `iss` and `aud` are checked after the
    /// signature verified, so the values shown are the signed ones.
    fn refusal(&self, kind: ErrorKind, token: &str) -> Refusal {
        let claim = |name: &str| {
            peek(token, 1)
                .and_then(|p| p.get(name).cloned())
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        match kind {
            ErrorKind::ExpiredSignature => Refusal::Expired,
            ErrorKind::ImmatureSignature => Refusal::NotYetValid,
            ErrorKind::InvalidIssuer => Refusal::Issuer {
                got: claim("iss"),
                want: self.config.issuer.clone(),
            },
            ErrorKind::InvalidAudience => Refusal::Audience {
                got: claim("aud"),
                want: self
                    .config
                    .audience
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            },
            ErrorKind::InvalidSignature => Refusal::Signature,
            ErrorKind::MissingRequiredClaim(c) => Refusal::MissingClaim(c),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                Refusal::Algorithm("not RS256".into())
            }
            other => Refusal::Malformed(format!("{other:?}")),
        }
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
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(peek(&format!("{h}.e30."), 0).unwrap()["alg"], "none");
        assert!(peek("!!.e30.", 0).is_none());
    }
}
