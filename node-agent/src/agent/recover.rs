//! Recovering faults: undo each in the kernel (pauses first), journal them all with one
//! fsync, report each; a failed recovery stays active and is retried with a growing wait.

use std::time::{Duration, Instant};

use faultline_exporter::{AgentOp, RecoveryReason};

use super::command::StartupReport;
use super::core::Core;
use super::error::AgentError;
use super::events::{FaultOpFailed, FaultRecovered};
use crate::error::error_chain;
use crate::faults::{Family, Fault, FaultId, FaultRecord, Recovered};
use crate::protocol::RecoveredFault;
use faultline_spec::NodeFault;

/// First and longest wait before retrying a recovery that failed.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A record undone in the kernel, waiting to be journaled as recovered.
struct Undone {
    rec: FaultRecord,
    outcome: Recovered,
    took: Duration,
}

impl Core {
    pub(super) async fn recover_at_startup(&mut self) -> StartupReport {
        let mut report = StartupReport::default();
        let ids: Vec<FaultId> = self.journal.active().keys().cloned().collect();
        if !ids.is_empty() {
            tracing::warn!(count = ids.len(), dir = %self.journal.dir().display(),
                "journal holds faults a previous agent or run left applied; recovering them");
        }
        // Undone one by one, journaled together: one fsync for the lot, so a journal of
        // 1,000 records is settled well within R2's "recovered within 1 s of start".
        let (undone, failed) = self.undo_each(ids).await;
        report.failed = failed
            .into_iter()
            .map(|(id, e)| (id, error_chain(&e)))
            .collect();
        let ids: Vec<FaultId> = undone.iter().map(|u| u.rec.id.clone()).collect();
        match self.settle(undone, RecoveryReason::Startup) {
            Ok(done) => report.recovered = done,
            Err(e) => {
                let why = error_chain(&e);
                report
                    .failed
                    .extend(ids.into_iter().map(|id| (id, why.clone())));
            }
        }
        self.active_changed();
        report
    }

    pub(super) async fn recover_matching(
        &mut self,
        id: &FaultId,
        reason: RecoveryReason,
    ) -> Result<Vec<RecoveredFault>, AgentError> {
        let ids = self.matching(id);
        let result = self.recover_ids(ids, reason).await;
        self.active_changed();
        result
    }

    pub(super) async fn recover_all(
        &mut self,
        reason: RecoveryReason,
    ) -> Result<Vec<RecoveredFault>, AgentError> {
        let ids = self.journal.active().keys().cloned().collect();
        let result = self.recover_ids(ids, reason).await;
        self.active_changed();
        result
    }

    /// The order to recover `ids` in: newest first (undo in the reverse order of applying),
    /// but pauses before anything else. A frozen process cannot die: stress workers that
    /// share a frozen target's cgroup only exit once the pause is undone, so undoing it
    /// first lets the stress recovery see them gone (the reliability suite found
    /// `faultline recover` failing after a SIGKILLed run before workers in a frozen cgroup
    /// counted as killed).
    fn recovery_order(&self, ids: Vec<FaultId>) -> Vec<FaultId> {
        let mut ids: Vec<FaultId> = ids.into_iter().rev().collect();
        ids.sort_by_key(|id| {
            let pause = self
                .journal
                .active()
                .get(id)
                .is_some_and(|a| matches!(a.record.kind, NodeFault::ProcessPause(_)));
            !pause
        });
        ids
    }

    /// Recovers each id; one failure does not stop the others. Returns the first error.
    pub(super) async fn recover_ids(
        &mut self,
        ids: Vec<FaultId>,
        reason: RecoveryReason,
    ) -> Result<Vec<RecoveredFault>, AgentError> {
        let (undone, failed) = self.undo_each(ids).await;
        let first_err = failed.into_iter().next().map(|(_, e)| e);
        let done = self.settle(undone, reason);
        match (first_err, done) {
            (Some(e), _) | (None, Err(e)) => Err(e),
            (None, Ok(done)) => Ok(done),
        }
    }

    /// Undoes each of `ids` in recovery order; one failure does not stop the others.
    /// Nothing is journaled yet: that is [`Core::settle`]'s, once for all of them.
    async fn undo_each(&mut self, ids: Vec<FaultId>) -> (Vec<Undone>, Vec<(FaultId, AgentError)>) {
        let mut undone = Vec::new();
        let mut failed = Vec::new();
        for id in self.recovery_order(ids) {
            match self.undo(&id).await {
                Ok(u) => undone.push(u),
                Err(e) => failed.push((id, e)),
            }
        }
        (undone, failed)
    }

    /// Undoes one active record in the kernel, not yet journaled; on failure it stays
    /// active and a retry is scheduled.
    async fn undo(&mut self, id: &FaultId) -> Result<Undone, AgentError> {
        let Some(active) = self.journal.active().get(id) else {
            return Err(AgentError::NotFound(id.clone()));
        };
        let rec = active.record.clone();
        let started = Instant::now();
        let outcome = Family::of(&rec.kind).recover(&rec).await;
        match outcome {
            Ok(outcome) => Ok(Undone {
                rec,
                outcome,
                took: started.elapsed(),
            }),
            Err(source) => {
                let wait = self
                    .retry
                    .get(id)
                    .map_or(RETRY_FIRST, |(_, w)| (*w * 2).min(RETRY_MAX));
                self.retry.insert(id.clone(), (Instant::now() + wait, wait));
                let err = AgentError::Recover {
                    id: id.clone(),
                    source,
                };
                FaultOpFailed {
                    id,
                    kind: &rec.kind,
                    op: AgentOp::Recover,
                    error: &err,
                }
                .emit(&self.metrics);
                Err(err)
            }
        }
    }

    /// Journals `undone` as recovered, all with one fsync, and reports each.
    fn settle(
        &mut self,
        undone: Vec<Undone>,
        reason: RecoveryReason,
    ) -> Result<Vec<RecoveredFault>, AgentError> {
        let ids: Vec<FaultId> = undone.iter().map(|u| u.rec.id.clone()).collect();
        if let Err(e) = self.journal.recovered_all(&ids) {
            // The faults are gone but the journal still lists them: the next start
            // recovers them again, which is harmless (recovery is idempotent).
            for u in &undone {
                FaultOpFailed {
                    id: &u.rec.id,
                    kind: &u.rec.kind,
                    op: AgentOp::Journal,
                    error: &e,
                }
                .emit(&self.metrics);
            }
            return Err(e.into());
        }
        Ok(undone
            .into_iter()
            .map(|u| {
                self.retry.remove(&u.rec.id);
                FaultRecovered {
                    rec: &u.rec,
                    reason,
                    outcome: &u.outcome,
                    took: u.took,
                }
                .emit(&self.metrics);
                RecoveredFault {
                    id: u.rec.id.clone(),
                    kind: u.rec.kind.name().to_string(),
                    outcome: u.outcome,
                }
            })
            .collect())
    }
}
