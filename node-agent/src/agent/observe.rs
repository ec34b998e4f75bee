//! Observing a request: each record's effect read back from the kernel against the
//! baseline read right after it applied (`faults/observe.rs` says what "seen" means).

use super::core::Core;
use super::error::AgentError;
use crate::faults::{Baseline, Family, Fault, FaultId, FaultRecord};
use crate::protocol::ObservedFault;

impl Core {
    /// Reads, once, the baseline of every record of a request that just applied.
    pub(super) async fn take_baselines(&mut self, family: Family, records: &[FaultRecord]) {
        // Baselines of requests no longer held go first, so the map stays small.
        let live: Vec<FaultId> = self.held_records().map(|r| r.id.clone()).collect();
        self.baselines.retain(|id, _| live.contains(id));
        for rec in records {
            let b = family.baseline(rec).await;
            self.baselines.insert(rec.id.clone(), b);
        }
    }

    /// Observes every record of request `id` (or record `id`): active ones, and the
    /// instant ones (kills) done lately. `NotFound` when it holds none.
    pub(super) async fn observe(&mut self, id: &FaultId) -> Result<Vec<ObservedFault>, AgentError> {
        let mut recs: Vec<FaultRecord> = self
            .held_records()
            .filter(|r| r.id == *id || group_of(&r.id) == Some(id.as_str()))
            .cloned()
            .collect();
        if recs.is_empty() {
            return Err(AgentError::NotFound(id.clone()));
        }
        recs.sort_by_key(|r| index_of(&r.id));
        recs.dedup_by(|a, b| a.id == b.id);
        let mut out = Vec::with_capacity(recs.len());
        for rec in recs {
            let family = Family::of(&rec.kind);
            // A record with no baseline (the agent restarted since it applied) starts one.
            let since = *self
                .baselines
                .entry(rec.id.clone())
                .or_insert_with(|| Baseline::now(None));
            let seen = family.observe(&rec, &since).await;
            out.push(ObservedFault {
                id: rec.id.clone(),
                kind: rec.kind.name().to_string(),
                target: rec.target.to_string(),
                effective: seen.effective,
                evidence: seen.evidence,
            });
        }
        Ok(out)
    }

    /// Every record this agent holds: active, or instant and done lately.
    fn held_records(&self) -> impl Iterator<Item = &FaultRecord> {
        self.journal
            .active()
            .values()
            .map(|a| &a.record)
            .chain(self.recent_instant.iter().flat_map(|(_, _, _, r)| r.iter()))
    }
}

/// The request id of record `<id>-<n>`.
fn group_of(record: &FaultId) -> Option<&str> {
    record.as_str().rsplit_once('-').map(|(g, _)| g)
}

/// `n` of record `<id>-<n>`.
fn index_of(record: &FaultId) -> Option<usize> {
    record
        .as_str()
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
}
