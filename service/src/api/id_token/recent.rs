//! The latest refusals, for `GET /api/v1/auth/policies` (and the console): when, why, and
//! which project and ref the token *claimed* — read from its payload even when it did not
//! verify, so a forged token's claims are shown as claims, never as facts. Never the token.
//! Recording one also logs it and counts it in `faultline_id_token_refusals_total`.

use std::collections::VecDeque;
use std::sync::Mutex;

use faultline_exporter::IdTokenMetrics;
use serde::Serialize;

use super::token::unverified_claims;
use crate::application::ci_identity::Refusal;
use crate::application::identity::CiJob;

/// How many refusals are kept.
pub const KEPT: usize = 50;

/// One refusal as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusalRecord {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The reason label.
    pub reason: &'static str,
    /// What failed, in words.
    pub message: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The token's `project_path` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_path: Option<String>,
    /// The token's `ref` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The token's `pipeline_id` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    /// The token's `job_id` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// The last [`KEPT`] refusals, newest first, and the metric.
pub struct Refusals {
    kept: Mutex<VecDeque<RefusalRecord>>,
    metrics: IdTokenMetrics,
}

impl Refusals {
    /// Counting into `metrics`.
    pub fn new(metrics: IdTokenMetrics) -> Refusals {
        Refusals {
            kept: Mutex::new(VecDeque::with_capacity(KEPT)),
            metrics,
        }
    }

    /// Logs, counts and keeps `refusal` of `token`, with the claims it carries.
    pub fn record(&self, refusal: &Refusal, token: &str) {
        self.keep(
            refusal,
            unverified_claims(token, ["project_path", "ref", "pipeline_id", "job_id"]),
        );
    }

    /// Logs, counts and keeps `refusal` of a verified job's start.
    pub fn record_for_job(&self, refusal: &Refusal, job: Option<&CiJob>) {
        self.keep(
            refusal,
            [
                job.map(|j| j.project_path.clone()),
                job.map(|j| j.git_ref.clone()),
                job.and_then(|j| j.pipeline_id).map(|p| p.to_string()),
                job.and_then(|j| j.job_id).map(|p| p.to_string()),
            ],
        );
    }

    fn keep(
        &self,
        refusal: &Refusal,
        [project_path, git_ref, pipeline_id, job_id]: [Option<String>; 4],
    ) {
        let record = RefusalRecord {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            reason: refusal.reason(),
            message: refusal.to_string(),
            status: refusal.status(),
            project_path,
            git_ref,
            pipeline_id,
            job_id,
        };
        tracing::warn!(
            reason = record.reason,
            project = record.project_path.as_deref().unwrap_or("-"),
            git_ref = record.git_ref.as_deref().unwrap_or("-"),
            pipeline = record.pipeline_id.as_deref().unwrap_or("-"),
            job = record.job_id.as_deref().unwrap_or("-"),
            "ID token refused: {}",
            record.message
        );
        self.metrics.refused(record.reason);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() == KEPT {
            kept.pop_back();
        }
        kept.push_front(record);
    }

    /// The kept refusals, newest first.
    pub fn latest(&self) -> Vec<RefusalRecord> {
        self.kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
