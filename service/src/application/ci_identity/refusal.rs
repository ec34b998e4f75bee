//! Why an ID token was refused: one variant per check, each with the reason label the
//! answer, the log and `faultline_id_token_refusals_total{reason}` carry. No variant
//! holds the token; those that show a claim show only claims, never the signature.

use super::policy::PolicyMiss;

/// A refused ID token or a refused start by a CI job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not three base64url parts with a JSON header and payload.
    #[error("not a JWT: {0}")]
    Malformed(String),
    /// `alg` is not RS256 (`none`, or HS256 signed with the public key as the secret).
    #[error("algorithm `{0}` is refused: GitLab signs ID tokens with RS256")]
    Algorithm(String),
    /// No key of the issuer's JWKS has this `kid`, even after fetching it again.
    #[error("no key `{0}` in the issuer's JWKS")]
    UnknownKey(String),
    /// The issuer's discovery document or JWKS could not be read.
    #[error("the issuer's keys could not be fetched: {0}")]
    KeysUnavailable(String),
    /// The signature does not verify with the key named by `kid`.
    #[error("the signature does not verify")]
    Signature,
    /// `iss` is not the configured GitLab.
    #[error("issuer `{got}` is not `{want}`")]
    Issuer {
        /// The token's `iss`.
        got: String,
        /// The configured issuer.
        want: String,
    },
    /// `aud` names none of the configured audiences.
    #[error("audience `{got}` is not {want}")]
    Audience {
        /// The token's `aud`.
        got: String,
        /// The configured audiences.
        want: String,
    },
    /// `exp` has passed (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` is still ahead (beyond the leeway).
    #[error("not valid yet (nbf is in the future)")]
    NotYetValid,
    /// `iat` is ahead of now (beyond the leeway).
    #[error("issued in the future (iat)")]
    IssuedInFuture,
    /// A claim the service needs is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
    /// This token's `jti` already started a run.
    #[error("replayed: this token (jti `{0}`) already started a run")]
    Replayed(String),
    /// No trust policy admits the token's claims.
    #[error("no trust policy admits this job: {}", list(.0))]
    NoPolicy(Vec<PolicyMiss>),
    /// The token is valid and admitted, but no grant covers this start.
    #[error("not allowed: {0}")]
    NotAllowed(String),
}

fn list(misses: &[PolicyMiss]) -> String {
    if misses.is_empty() {
        return "no policies are configured".into();
    }
    misses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Refusal {
    /// The reason label: bounded, one per variant.
    pub const fn reason(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::Algorithm(_) => "algorithm",
            Refusal::UnknownKey(_) => "unknown_kid",
            Refusal::KeysUnavailable(_) => "keys_unavailable",
            Refusal::Signature => "signature",
            Refusal::Issuer { .. } => "issuer",
            Refusal::Audience { .. } => "audience",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::IssuedInFuture => "issued_in_future",
            Refusal::MissingClaim(_) => "missing_claim",
            Refusal::Replayed(_) => "replayed",
            Refusal::NoPolicy(_) => "no_policy",
            Refusal::NotAllowed(_) => "not_allowed",
        }
    }

    /// Every reason label, for docs and for the metric's zero series.
    pub const ALL_REASONS: &'static [&'static str] = &[
        "malformed",
        "algorithm",
        "unknown_kid",
        "keys_unavailable",
        "signature",
        "issuer",
        "audience",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "missing_claim",
        "replayed",
        "no_policy",
        "not_allowed",
    ];

    /// The HTTP status: 401 for a token that is not valid, 403 for a valid one whose job
    /// has no right to this, 503 when the keys could not be fetched (not the caller's
    /// fault; retry).
    pub const fn status(&self) -> u16 {
        match self {
            Refusal::NoPolicy(_) | Refusal::NotAllowed(_) => 403,
            Refusal::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed() {
        let all = [
            Refusal::Malformed(String::new()),
            Refusal::Algorithm(String::new()),
            Refusal::UnknownKey(String::new()),
            Refusal::KeysUnavailable(String::new()),
            Refusal::Signature,
            Refusal::Issuer {
                got: String::new(),
                want: String::new(),
            },
            Refusal::Audience {
                got: String::new(),
                want: String::new(),
            },
            Refusal::Expired,
            Refusal::NotYetValid,
            Refusal::IssuedInFuture,
            Refusal::MissingClaim(String::new()),
            Refusal::Replayed(String::new()),
            Refusal::NoPolicy(Vec::new()),
            Refusal::NotAllowed(String::new()),
        ];
        let reasons: Vec<&str> = all.iter().map(Refusal::reason).collect();
        assert_eq!(reasons, Refusal::ALL_REASONS);
    }
}
