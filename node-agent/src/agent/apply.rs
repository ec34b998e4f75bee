//! Applying a request: validate, resolve every target, journal every record with one
//! fsync (unless the fault is instant: nothing to undo), apply each, all or nothing.

use std::time::Instant;

use faultline_exporter::{AgentOp, RecoveryReason};

use super::core::Core;
use super::error::AgentError;
use super::events::{FaultApplied, FaultOpFailed};
use super::request::{lease_until, record_id, validate};
use crate::error::FaultError;
use crate::faults::{Fault, FaultId, FaultRecord};
use crate::protocol::ApplyRequest;

/// Instant faults remembered for idempotent retries of the same request.
const RECENT_INSTANT: usize = 256;

impl Core {
    pub(super) async fn apply(
        &mut self,
        req: ApplyRequest,
    ) -> Result<Vec<FaultRecord>, AgentError> {
        let family = validate(&req)?;
        if let Some(existing) = self.same_request(&req)? {
            return Ok(existing);
        }
        let lease_until = lease_until(req.lease_seconds)?;
        // Resolve every target before anything is journaled or applied: a missing target
        // fails the request with nothing changed.
        let mut records = Vec::with_capacity(req.targets.len());
        let all = crate::resolve::resolve_all(&req.targets);
        for (index, (target, resolved)) in req.targets.iter().zip(all).enumerate() {
            let resolved = resolved.map_err(|source| AgentError::Target { index, source })?;
            records.push(FaultRecord {
                id: record_id(&req.id, index)?,
                kind: req.kind.clone(),
                target: target.clone(),
                resolved,
                lease_until,
                prior: None,
            });
        }
        // What each fault replaces or creates (a throttle's previous limits, a fill's file)
        // is read before anything is journaled or changed, and journaled with its record,
        // so recovery puts back exactly that, also after a crash.
        for rec in &mut records {
            rec.prior = family
                .prepare(rec)
                .await
                .map_err(|source| self.apply_failed(rec, source))?;
        }
        // An instant fault (processKill, containerKill) is done once sent: there is nothing
        // to undo, so it is not journaled (two fsyncs each, for a recovery that is a no-op).
        let lasting = !req.kind.is_instant();
        if lasting {
            // Before anything is journaled: a fault that stays applied must not exist
            // without whatever recovers it should this process be killed.
            self.before_lasting()?;
            self.journal_applying(&req.id, &records)?;
        }
        let mut applied: Vec<FaultId> = Vec::new();
        for (i, rec) in records.iter().enumerate() {
            let started = Instant::now();
            match family.apply(rec).await {
                Ok(()) => {
                    FaultApplied {
                        rec,
                        took: started.elapsed(),
                    }
                    .emit(&self.metrics);
                    applied.push(rec.id.clone());
                }
                Err(source) => {
                    let err = self.apply_failed(rec, source);
                    if !lasting {
                        return Err(err);
                    }
                    let untried: Vec<FaultId> =
                        records[i + 1..].iter().map(|r| r.id.clone()).collect();
                    if let Err(e) = self.journal.recovered_all(&untried) {
                        tracing::warn!(error = %e, "could not journal never-applied records as recovered; the next start settles them");
                    }
                    // The executor left nothing applied, but recovering is idempotent and
                    // settles the journal entry written above.
                    applied.push(rec.id.clone());
                    self.roll_back(applied).await;
                    return Err(err);
                }
            }
        }
        if let Err((i, source)) = family.settle(&records).await {
            let err = self.apply_failed(&records[i], source);
            if lasting {
                self.roll_back(applied).await;
            }
            return Err(err);
        }
        self.take_baselines(family, &records).await;
        if !lasting {
            // Remembered so that a retry of the same request is not a second kill.
            self.recent_instant.push_back((
                req.id.clone(),
                req.kind.clone(),
                req.targets.clone(),
                records.clone(),
            ));
            if self.recent_instant.len() > RECENT_INSTANT {
                self.recent_instant.pop_front();
            }
        }
        self.active_changed();
        Ok(records)
    }

    /// Journals `records` of request `group` as about to be applied, with one fsync.
    fn journal_applying(
        &mut self,
        group: &FaultId,
        records: &[FaultRecord],
    ) -> Result<(), AgentError> {
        if let Err(e) = self.journal.applying_all(group, records) {
            if let Some(rec) = records.first() {
                FaultOpFailed {
                    id: &rec.id,
                    kind: &rec.kind,
                    op: AgentOp::Journal,
                    error: &e,
                }
                .emit(&self.metrics);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// The error for `rec`'s failed apply, counted and logged.
    fn apply_failed(&self, rec: &FaultRecord, source: FaultError) -> AgentError {
        let err = AgentError::Apply {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            source,
        };
        FaultOpFailed {
            id: &rec.id,
            kind: &rec.kind,
            op: AgentOp::Apply,
            error: &err,
        }
        .emit(&self.metrics);
        err
    }

    async fn roll_back(&mut self, applied: Vec<FaultId>) {
        // Failures are logged, counted and retried by undo; the apply error is what
        // the caller needs to see.
        let _ = self.recover_ids(applied, RecoveryReason::Rollback).await;
        self.active_changed();
    }

    /// The records of an earlier identical request with this id, `Conflict` if the id is
    /// in use by a different one, `None` if it is free.
    fn same_request(&self, req: &ApplyRequest) -> Result<Option<Vec<FaultRecord>>, AgentError> {
        let mut mine: Vec<&FaultRecord> = self
            .journal
            .active()
            .values()
            .filter(|a| a.group == req.id)
            .map(|a| &a.record)
            .collect();
        if !mine.is_empty() {
            mine.sort_by_key(|r| {
                r.id.as_str()
                    .rsplit('-')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
            });
            let same = mine.len() == req.targets.len()
                && mine
                    .iter()
                    .zip(&req.targets)
                    .all(|(r, t)| r.kind == req.kind && r.target == *t);
            return if same {
                Ok(Some(mine.into_iter().cloned().collect()))
            } else {
                Err(AgentError::Conflict(req.id.clone()))
            };
        }
        for (id, kind, targets, records) in &self.recent_instant {
            if *id == req.id {
                return if *kind == req.kind && *targets == req.targets {
                    Ok(Some(records.clone()))
                } else {
                    Err(AgentError::Conflict(req.id.clone()))
                };
            }
        }
        Ok(None)
    }
}
