//! Leases: when the thread must next wake, recovering what lapsed, and renewing.

use std::time::{Duration, Instant};

use chrono::Utc;
use faultline_exporter::RecoveryReason;

use super::core::Core;
use super::error::AgentError;
use super::events::{LeaseLapsed, LeaseRenewed};
use super::request::lease_until;
use crate::faults::FaultId;

impl Core {
    /// When the reaper must next look: the earliest lease expiry or recovery retry.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let now_utc = Utc::now();
        let now = Instant::now();
        self.journal
            .active()
            .values()
            .map(|a| match self.retry.get(&a.record.id) {
                Some((at, _)) => *at,
                None => {
                    now + (a.record.lease_until - now_utc)
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                }
            })
            .min()
    }

    /// Recovers what lapsed, and retries recoveries that failed and are due.
    pub(super) async fn reap(&mut self) {
        let now_utc = Utc::now();
        let now = Instant::now();
        let due: Vec<FaultId> = self
            .journal
            .active()
            .values()
            .filter(|a| match self.retry.get(&a.record.id) {
                Some((at, _)) => *at <= now,
                None => a.record.lease_until <= now_utc,
            })
            .map(|a| a.record.id.clone())
            .collect();
        for id in &due {
            // A retry of a failed recovery is not a second lapse.
            if let Some(a) = self
                .journal
                .active()
                .get(id)
                .filter(|_| !self.retry.contains_key(id))
            {
                LeaseLapsed { rec: &a.record }.emit(&self.metrics);
            }
        }
        // A failure is logged and counted by undo, which also schedules the retry.
        let _ = self.recover_ids(due, RecoveryReason::Lease).await;
        self.active_changed();
    }

    pub(super) fn renew(
        &mut self,
        id: &FaultId,
        secs: u64,
    ) -> Result<(Vec<FaultId>, chrono::DateTime<Utc>), AgentError> {
        let until = lease_until(secs)?;
        let ids = self.matching(id);
        if ids.is_empty() {
            return Err(AgentError::NotFound(id.clone()));
        }
        self.journal.renewed_all(&ids, until)?;
        LeaseRenewed {
            id,
            records: ids.len(),
            until,
        }
        .emit(&self.metrics);
        Ok((ids, until))
    }
}
