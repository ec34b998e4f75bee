//! The agent thread: owns the journal, runs the executors, reaps lapsed leases.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use faultline_exporter::{AgentMetrics, AgentOp, RecoveryReason};
use tokio::sync::{mpsc, oneshot};

use super::events::{
    ActiveChanged, FaultApplied, FaultOpFailed, FaultRecovered, LeaseLapsed, LeaseRenewed,
};
use super::request::{lease_until, record_id, validate};
use super::{AgentError, Command, StartupReport, error_chain};
use crate::error::FaultError;
use crate::faults::{Family, Fault, FaultId, FaultRecord};
use crate::journal::Journal;
use crate::protocol::{ApplyRequest, RecoveredFault};
use faultline_spec::{LocalTarget, NodeFault};

/// Instant faults remembered for idempotent retries of the same request.
const RECENT_INSTANT: usize = 256;
/// First and longest wait before retrying a recovery that failed.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A record undone in the kernel, waiting to be journaled as recovered.
struct Undone {
    rec: FaultRecord,
    outcome: crate::faults::Recovered,
    took: Duration,
}

struct Core {
    journal: Journal,
    metrics: Arc<AgentMetrics>,
    /// Records whose recovery failed: when to try again and the wait after that.
    retry: HashMap<FaultId, (Instant, Duration)>,
    /// Instant requests done lately: (id, kind, targets, records).
    recent_instant: VecDeque<(FaultId, NodeFault, Vec<LocalTarget>, Vec<FaultRecord>)>,
}

/// The thread's body: open, recover what the journal holds, report ready, then serve.
pub(super) fn run(
    dir: PathBuf,
    metrics: Arc<AgentMetrics>,
    mut rx: mpsc::Receiver<Command>,
    ready: oneshot::Sender<Result<StartupReport, AgentError>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(AgentError::Start {
                step: "build the agent runtime",
                source: Box::new(e),
            }));
            return;
        }
    };
    rt.block_on(async move {
        let journal = match Journal::open(&dir) {
            Ok(j) => j,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let mut core = Core {
            journal,
            metrics,
            retry: HashMap::new(),
            recent_instant: VecDeque::new(),
        };
        let report = core.recover_at_startup().await;
        let _ = ready.send(Ok(report));
        let shutdown_reply = core.serve(&mut rx).await;
        if let Some((reply, result)) = shutdown_reply {
            // Release the state dir's lock before answering, so whoever waits on
            // shutdown can open the dir again at once.
            drop(core);
            let _ = reply.send(result);
        }
    });
}

impl Core {
    async fn serve(
        &mut self,
        rx: &mut mpsc::Receiver<Command>,
    ) -> Option<(
        super::Reply<Vec<RecoveredFault>>,
        Result<Vec<RecoveredFault>, AgentError>,
    )> {
        loop {
            let deadline = self.next_deadline();
            let cmd = tokio::select! {
                cmd = rx.recv() => cmd,
                () = sleep_until(deadline) => {
                    self.reap().await;
                    continue;
                }
            };
            match cmd? {
                Command::Apply(req, reply) => {
                    let _ = reply.send(self.apply(*req).await);
                }
                Command::Recover(id, reply) => {
                    let _ = reply.send(self.recover_matching(&id, RecoveryReason::Api).await);
                }
                Command::Renew(id, secs, reply) => {
                    let _ = reply.send(self.renew(&id, secs));
                }
                Command::List(reply) => {
                    let _ = reply.send(Ok(self
                        .journal
                        .active()
                        .values()
                        .map(|a| a.record.clone())
                        .collect()));
                }
                Command::RecoverAll(reason, reply) => {
                    let _ = reply.send(self.recover_all(reason).await);
                }
                Command::Shutdown(reply) => {
                    let result = self.recover_all(RecoveryReason::Shutdown).await;
                    return Some((reply, result));
                }
            }
        }
    }

    async fn recover_at_startup(&mut self) -> StartupReport {
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

    fn active_changed(&self) {
        let kinds: Vec<&NodeFault> = self
            .journal
            .active()
            .values()
            .map(|a| &a.record.kind)
            .collect();
        ActiveChanged { active: &kinds }.emit(&self.metrics);
    }

    /// When the reaper must next look: the earliest lease expiry or recovery retry.
    fn next_deadline(&self) -> Option<Instant> {
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
    async fn reap(&mut self) {
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

    fn matching(&self, id: &FaultId) -> Vec<FaultId> {
        self.journal
            .active()
            .values()
            .filter(|a| a.record.id == *id || a.group == *id)
            .map(|a| a.record.id.clone())
            .collect()
    }

    async fn recover_matching(
        &mut self,
        id: &FaultId,
        reason: RecoveryReason,
    ) -> Result<Vec<RecoveredFault>, AgentError> {
        let ids = self.matching(id);
        let result = self.recover_ids(ids, reason).await;
        self.active_changed();
        result
    }

    async fn recover_all(
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
            let pause = self.journal.active().get(id).is_some_and(|a| {
                matches!(a.record.kind, faultline_spec::NodeFault::ProcessPause(_))
            });
            !pause
        });
        ids
    }

    /// Recovers each id; one failure does not stop the others. Returns the first error.
    async fn recover_ids(
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
        let outcome = match Family::of(&rec.kind) {
            Some(family) => family.recover(&rec).await,
            // Apply refuses such kinds, so a journal never holds one applied.
            None => Ok(crate::faults::Recovered::AlreadyGone),
        };
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

    fn renew(
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

    async fn apply(&mut self, req: ApplyRequest) -> Result<Vec<FaultRecord>, AgentError> {
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
            });
        }
        // Journaled all at once (one fsync) before the first is applied; a record whose
        // apply was never tried is settled as recovered without touching anything.
        if let Err(e) = self.journal.applying_all(&req.id, &records) {
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
            self.roll_back(applied).await;
            return Err(err);
        }
        if req.kind.is_instant() {
            // A kill is done once sent: nothing stays to recover.
            self.journal.recovered_all(&applied)?;
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
