//! GitLab CI ID tokens at the API's edge (issue 28): [`IdTokens`] verifies a JWT bearer
//! token ([`verify`], keys from the issuer's JWKS in [`keys`]), turns it into a
//! [`Caller`] through the trust policies, spends its `jti` when it starts a run, and
//! records every refusal ([`recent`]). The rules themselves — policies, reasons, the
//! spent-`jti` set — are the application's (`application/ci_identity/`).

pub mod keys;
pub mod recent;
mod token;
pub mod verify;

use actix_web::http::StatusCode;
use faultline_exporter::IdTokenMetrics;
use faultline_spec::Experiment;

use super::error::ApiError;
use crate::application::ci_identity::{IdTokenConfig, Refusal};
use crate::application::identity::{Caller, CallerSource};
use crate::application::ports::SpentTokens;
use crate::domain::{Actor, ActorKind};
pub use recent::{RefusalRecord, Refusals};
pub use verify::{Verifier, looks_like_jwt};

/// Everything the API needs to admit CI jobs by their ID tokens.
pub struct IdTokens {
    /// The checks and keys.
    pub verifier: Verifier,
    /// The latest refusals, the log and the metric.
    pub refusals: Refusals,
}

/// Why ID tokens could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum IdTokensError {
    /// The HTTP client for the issuer's keys.
    #[error("failed to set up the HTTP client for the ID-token issuer")]
    Http(#[source] reqwest::Error),
    /// The refusal metric.
    #[error("failed to register the ID-token refusal metric")]
    Metrics(#[source] prometheus::Error),
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The answer to a refusal: its status and a message naming the check that failed.
pub fn refusal_error(r: &Refusal) -> ApiError {
    ApiError::new(
        StatusCode::from_u16(r.status()).unwrap_or(StatusCode::UNAUTHORIZED),
        format!("ID token refused ({}): {r}", r.reason()),
    )
}

impl IdTokens {
    /// ID tokens of `config`'s issuer, refusals counted in `registry`.
    pub fn new(
        config: IdTokenConfig,
        registry: &prometheus::Registry,
    ) -> Result<IdTokens, IdTokensError> {
        let metrics = IdTokenMetrics::register(registry, Refusal::ALL_REASONS)
            .map_err(IdTokensError::Metrics)?;
        Ok(IdTokens {
            verifier: Verifier::new(config).map_err(IdTokensError::Http)?,
            refusals: Refusals::new(metrics),
        })
    }

    /// The caller `token` stands for, or the refusal (recorded) as an API error.
    pub async fn admit(&self, token: &str) -> Result<Caller, ApiError> {
        match self.verifier.verify(token, now()).await {
            Ok(caller) => Ok(caller),
            Err(r) => {
                self.refusals.record(&r, token);
                Err(refusal_error(&r))
            }
        }
    }
}

/// Who a refused ID token is in the audit log: a `ci_job` named by the job its payload
/// *claims* (unverified, so only in the name, never as the actor's project or ref).
pub fn unverified_actor(token: &str) -> Actor {
    let [project, job] = token::unverified_claims(token, ["project_path", "job_id"]);
    let name = match (project, job) {
        (Some(p), Some(j)) => format!("unverified ID token claiming {p} job {j}"),
        (Some(p), None) => format!("unverified ID token claiming {p}"),
        _ => "unverified ID token".to_string(),
    };
    Actor {
        kind: ActorKind::CiJob,
        name,
        project: None,
        git_ref: None,
        pipeline: None,
    }
}

/// Whether `caller` may start `exp`, checked where every run starts: a grant must cover
/// the experiment and its namespaces (403 otherwise), and a CI job's token starts one run
/// only (its `jti` is spent in `spent`, the store every replica shares; 401 `replayed`
/// the second time, on any replica). A store that cannot say is a 503: a token is never
/// let through unrecorded.
pub fn may_start(
    ids: Option<&IdTokens>,
    spent: &(impl SpentTokens + ?Sized),
    caller: &Caller,
    exp: &Experiment,
) -> Result<(), ApiError> {
    let refuse = |r: Refusal| {
        if let Some(ids) = ids {
            ids.refusals.record_for_job(&r, caller.ci_job());
        }
        Err(refusal_error(&r))
    };
    if let Err(why) = caller.may_start(exp) {
        if caller.ci_job().is_some() {
            return refuse(Refusal::NotAllowed(why));
        }
        return Err(ApiError::new(StatusCode::FORBIDDEN, why));
    }
    if let (Some(_), CallerSource::CiJob { jti, expires, .. }) = (ids, &caller.source) {
        let fresh = spent.spend_token(jti, *expires, now()).map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot record the ID token as spent, so it may not start a run: {e}"),
            )
        })?;
        if !fresh {
            return refuse(Refusal::Replayed(jti.clone()));
        }
    }
    Ok(())
}
