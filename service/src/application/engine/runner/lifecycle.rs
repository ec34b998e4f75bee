//! The step lifecycle, one for every fault whichever executor carries it out:
//! resolve targets -> apply -> renew (`active.rs`) -> recover. Each transition is an
//! event persisted before the next (`record_all`), and each fault is recorded as active
//! in the store before it is applied, so a restarted service knows what to confirm
//! recovered. Steps are walked in order: serial, parallel, suspend,
//! repeat (`repeat.rs`).
//!
//! Time bounds are passed down, never enforced by dropping a future (a child dropped
//! mid-apply would leave a fault nobody recovers): each step gets `until`, the earliest
//! deadline of the groups around it, and waits no longer than that. A group's deadline
//! thus ends the children still holding a fault (they are recovered as at the end of
//! their duration), skips those not started, and the run goes on with the next step.
//! `check:` steps are in `status_check.rs`.

use faultline_agent::faults::FaultId;
use faultline_agent::protocol::ApplyRequest;
use std::time::Duration;

use faultline_spec::fault::Targets;
use faultline_spec::{FaultStep, Group, LocalTarget, Step, Target};
use futures::future::{BoxFuture, join_all};
use tokio::time::Instant;

use super::executor::{AnyExecutor, Executor, Order, Seen};
use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::engine::plan::label as step_label;
use crate::domain::RunEvent;
use faultline_agent::agent::error_chain;

/// One fault request of a step, resolved: what to apply, through which executor.
pub(super) struct Planned {
    /// The request's id; its events are `<id>-<index>`.
    pub(super) id: FaultId,
    /// Who carries it out.
    pub(super) exec: AnyExecutor,
    /// What it is asked to do.
    pub(super) order: Order,
    /// Its targets as the run's events name them (kept with the active fault).
    pub(super) targets: Vec<String>,
    /// The run's own agent undoes a failed apply itself (all or nothing), so a failed
    /// apply leaves nothing to recover. A node agent's failed call may still have applied
    /// (a timeout): it stays registered and is recovered by id.
    pub(super) undone_on_failure: bool,
}

impl Planned {
    /// Whether anything of it stays active after apply (podKill's deletes do not).
    fn lasts(&self) -> bool {
        !matches!(self.order, Order::PodKill { .. })
    }
}

/// A fault step's requests, once its targets are resolved.
pub(super) struct Resolved {
    /// The fault kind's name, as events carry it.
    pub(super) kind: &'static str,
    /// Applied once and done (kills): nothing to wait for or recover.
    pub(super) instant: bool,
    /// One per executor call: the in-process or run's agent, each node's agent, the pods.
    pub(super) planned: Vec<Planned>,
}

impl Runner {
    /// Runs `step`, ending it by `until` (the deadline of the groups around it) at the
    /// latest.
    pub(super) fn exec_step<'s>(
        &'s self,
        step: &'s Step,
        label: String,
        until: Option<Instant>,
    ) -> BoxFuture<'s, Result<(), Stop>> {
        Box::pin(async move {
            if passed(until) {
                // A group's deadline has passed: what is not started is skipped (the
                // group notes it), never applied only to be recovered at once.
                return Ok(());
            }
            match step {
                Step::Fault(f) => self.exec_fault(f, label, until).await,
                Step::Check(c) => self.exec_check(c, label, until).await,
                Step::Task(t) => self.exec_task(t, label, until).await,
                Step::Repeat(r) => self.exec_repeat(r, label, until).await,
                Step::Suspend(d) => {
                    self.enter_observing(&format!("suspend {d}"))?;
                    self.wait(bounded(d.std(), until)).await
                }
                Step::Serial(g) => {
                    let until = self.group_until(g, until);
                    for (i, c) in g.steps.iter().enumerate() {
                        self.exec_step(c, format!("{label}.{}", step_label(c, i)), until)
                            .await?;
                    }
                    self.note_deadline(g, until, &label)
                }
                Step::Parallel(g) => {
                    let until = self.group_until(g, until);
                    // join_all, not try_join_all: a sibling that is mid-apply must finish
                    // and register its fault so it can be recovered, never be dropped.
                    let runs = g.steps.iter().enumerate().map(|(i, c)| {
                        self.exec_step(c, format!("{label}.{}", step_label(c, i)), until)
                    });
                    let results = join_all(runs).await;
                    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))?;
                    self.note_deadline(g, until, &label)
                }
            }
        })
    }

    /// `guard.maxDuration` (else the service's), the bound of a step that has none of its
    /// own, after noting on the run why the step takes it: `step LABEL: WHY, at most 1h
    /// (guard.maxDuration)`.
    pub(super) fn at_most_max_duration(&self, label: &str, why: &str) -> Result<Duration, Stop> {
        let max = self
            .exp
            .spec
            .guard
            .max_duration
            .map_or(self.opts.max_duration, |d| d.std());
        self.record(RunEvent::Note {
            message: format!(
                "step {label}: {why}, at most {} (guard.maxDuration)",
                faultline_spec::Duration(max)
            ),
        })?;
        Ok(max)
    }

    /// When a group with a deadline ends: the earlier of its own deadline and `outer`.
    fn group_until(&self, g: &Group, outer: Option<Instant>) -> Option<Instant> {
        earliest(g.deadline.map(|d| Instant::now() + d.std()), outer)
    }

    /// Says in the run's events that a group's deadline ended it.
    fn note_deadline(&self, g: &Group, until: Option<Instant>, label: &str) -> Result<(), Stop> {
        match g.deadline {
            Some(d) if passed(until) => self.record(RunEvent::Note {
                message: format!(
                    "step {label}: its deadline ({d}) passed; what still held a fault was recovered and the rest skipped; the run goes on"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// One fault step: resolve -> apply -> (observe for its duration) -> recover.
    async fn exec_fault(
        &self,
        f: &FaultStep,
        label: String,
        until: Option<Instant>,
    ) -> Result<(), Stop> {
        if let Some(r) = self.aborted() {
            return Err(Stop::Aborted(r));
        }
        let duration = if f.until_aborted {
            self.at_most_max_duration(
                &label,
                &format!(
                    "{} has no duration; it holds until the run is aborted",
                    f.fault.name()
                ),
            )?
        } else {
            f.duration.map(|d| d.std()).unwrap_or_default()
        };
        let duration = bounded(duration, until);
        let Some(resolved) = self.resolve(f, &label).await? else {
            // The mode chose no pod (noted): the step still lasts its duration.
            self.enter_observing(&label)?;
            return self.wait(duration).await;
        };
        let ids = self.apply(&label, &resolved).await?;
        self.verify(f, &label, &resolved).await?;
        self.enter_observing(&label)?;
        if resolved.instant {
            // The agent applies a kill once and journals it recovered at once.
            for id in &ids {
                self.forget(id);
            }
            return Ok(());
        }
        // Counted from the apply: a group's deadline that passed meanwhile still ends it.
        self.wait(bounded(duration, until)).await?;
        self.recover_each(&ids).await
    }

    /// The step's targets: a local target goes to the run's own executor; pods are
    /// selected in the cluster (`select.rs`).
    async fn resolve(&self, f: &FaultStep, label: &str) -> Result<Option<Resolved>, Stop> {
        let target = f.target.as_ref().or(self.exp.spec.target.as_ref());
        // Node kinds choose nodes, not pods (`nodes.rs`).
        match f.fault.decl().targets {
            Targets::Nodes => return self.resolve_nodes(f, target, label).await,
            Targets::Zone => return self.resolve_zone(f, label).await,
            Targets::LocalOrPods | Targets::Pods => {}
        }
        match target {
            Some(Target::Local(t)) => self.resolve_local(f, t, label).await.map(Some),
            Some(Target::Kubernetes(sel)) => self.resolve_pods(f, sel, label).await,
            None => Err(Stop::error(RunError::NoTarget {
                step: label.to_string(),
            })),
        }
    }

    async fn resolve_local(
        &self,
        f: &FaultStep,
        target: &LocalTarget,
        label: &str,
    ) -> Result<Resolved, Stop> {
        if f.fault.scope().is_some_and(|s| s.peer_selector.is_some()) {
            // The agent only knows addresses: unresolved, a partition would cut everything.
            return Err(Stop::error(RunError::PeerSelectorOutsideCluster {
                step: label.to_string(),
            }));
        }
        let Some(kind) = f.fault.to_node() else {
            return Err(Stop::error(RunError::NeedsKubernetesTarget {
                step: label.to_string(),
                kind: f.fault.name(),
            }));
        };
        let kind = self.resolve_hosts(kind, label).await?;
        let id = self.next_fault_id();
        let req = ApplyRequest {
            id: id.clone(),
            kind,
            targets: vec![target.clone()],
            lease_seconds: self.opts.lease.as_secs().max(1),
        };
        Ok(Resolved {
            kind: f.fault.name(),
            instant: f.fault.is_instant(),
            planned: vec![Planned {
                id,
                exec: AnyExecutor::from(&self.injector),
                order: Order::Node {
                    req: Box::new(req),
                    labels: vec![None],
                },
                targets: vec![target.to_string()],
                undone_on_failure: true,
            }],
        })
    }

    /// Applies every request of a step at once (one per node agent: one after another,
    /// 10 agents of 1,000 pods each took seconds). Each is recorded as active before its
    /// call, so a stop mid-apply still recovers it; what each hit is recorded as it
    /// answers. Returns the ids of what stays active; the first failure stops the run.
    async fn apply(&self, label: &str, resolved: &Resolved) -> Result<Vec<FaultId>, Stop> {
        let mut ids = Vec::new();
        for p in resolved.planned.iter().filter(|p| p.lasts()) {
            self.register(p, label, resolved.kind)?;
            ids.push(p.id.clone());
        }
        let calls = resolved.planned.iter().map(|p| async move {
            // Node agents' calls carry the fault span's trace context.
            let parent = match p.order {
                Order::Node { .. } => self.trace_starting(&p.id),
                _ => None,
            };
            (p, p.exec.apply(&p.id, &p.order, parent.as_ref()).await)
        });
        let mut first_err = None;
        for (p, applied) in join_all(calls).await {
            let agent = p.exec.agent();
            let mut evs = Vec::with_capacity(applied.hits.len() * 2);
            for hit in applied.hits {
                evs.push(RunEvent::FaultApplied {
                    fault: hit.fault.clone(),
                    kind: resolved.kind.into(),
                    target: hit.target,
                    step: label.to_string(),
                    agent: agent.clone(),
                    node: hit.node,
                });
                let finished = hit
                    .finished
                    .or_else(|| resolved.instant.then(|| "instant".to_string()));
                if let Some(outcome) = finished {
                    evs.push(RunEvent::FaultRecovered {
                        fault: hit.fault,
                        outcome,
                    });
                }
            }
            self.record_all(evs)?;
            if matches!(p.order, Order::PodKill { .. }) {
                // The pods deleted are the fault, whatever became of the others.
                self.enter_observing(label)?;
            }
            if applied.error.is_some() && p.undone_on_failure {
                self.forget(&p.id);
                ids.retain(|id| id != &p.id);
            }
            if let Some(source) = applied.error {
                first_err.get_or_insert_with(|| RunError::Apply {
                    step: label.to_string(),
                    source,
                });
            }
        }
        first_err.map_or(Ok(ids), |e| Err(Stop::error(e)))
    }

    /// Reads the step's fault back until it is seen on `verify.minCoverage` of its
    /// targets or `verify.within` passes, and records which (`FaultVerified` or
    /// `FaultUnverified`, persisted before the step goes on). Not seen in time stops the
    /// run `error: fault did not take effect`, and the run's stop recovers every fault.
    async fn verify(&self, f: &FaultStep, label: &str, resolved: &Resolved) -> Result<(), Stop> {
        let Some(v) = f.verify else {
            return Ok(());
        };
        let selected: usize = resolved.planned.iter().map(|p| p.targets.len()).sum();
        let deadline = Instant::now() + v.within.std();
        loop {
            let mut seen: Vec<Seen> = Vec::with_capacity(selected);
            let mut unreadable = Vec::new();
            for p in &resolved.planned {
                match p
                    .exec
                    .observe(&p.id, &p.order, self.trace_of(&p.id).as_ref())
                    .await
                {
                    Ok(Some(s)) => seen.extend(s),
                    Ok(None) => unreadable.push(p.exec.agent()),
                    Err(e) => seen.push(Seen {
                        target: p.targets.join(", "),
                        effective: false,
                        evidence: format!("could not be read: {}", error_chain(&e)),
                    }),
                }
            }
            if seen.is_empty() && !unreadable.is_empty() {
                return self.record(RunEvent::Note {
                    message: format!(
                        "step {label}: {}'s effect is not read back through {} yet; not verified",
                        resolved.kind,
                        unreadable.join(", ")
                    ),
                });
            }
            let affected = seen.iter().filter(|s| s.effective).count();
            let done = affected > 0 && v.covered(affected, selected);
            if done || Instant::now() >= deadline || self.aborted().is_some() {
                let evidence = evidence(&seen);
                let (kind, step) = (resolved.kind.to_string(), label.to_string());
                if done {
                    return self.record(RunEvent::FaultVerified {
                        step,
                        kind,
                        affected,
                        selected,
                        evidence,
                    });
                }
                self.record(RunEvent::FaultUnverified {
                    step,
                    kind,
                    affected,
                    selected,
                    evidence: evidence.clone(),
                })?;
                if let Some(r) = self.aborted() {
                    return Err(Stop::Aborted(r));
                }
                return Err(Stop::error(RunError::NotEffective {
                    step: label.to_string(),
                    kind: resolved.kind,
                    affected,
                    selected,
                    within: v.within,
                    needed: v.min_coverage.value(),
                    evidence,
                }));
            }
            tokio::time::sleep(
                VERIFY_EVERY.min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
        }
    }

    pub(super) async fn recover_one(&self, id: &FaultId) -> Result<(), Stop> {
        let exec = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|a| &a.id == id)
            .map(|a| a.exec.clone())
            .unwrap_or_else(|| AnyExecutor::from(&self.injector));
        let parent = self.trace_of(id);
        match exec.recover(id, parent.as_ref()).await {
            Ok(recovered) => {
                self.record_all(
                    recovered
                        .into_iter()
                        .map(|(fault, outcome)| RunEvent::FaultRecovered { fault, outcome })
                        .collect(),
                )?;
                self.forget(id);
                Ok(())
            }
            Err(e) => Err(Stop::error(RunError::Recover {
                fault: id.clone(),
                source: e,
            })),
        }
    }

    pub(super) async fn recover_all(&self) -> Result<(), Stop> {
        let ids: Vec<FaultId> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|a| a.id.clone())
            .collect();
        // One after another, in the order applied: faults of one run may share a target.
        let mut first_err = None;
        for id in ids {
            if let Err(e) = self.recover_one(&id).await {
                // A fault left in place outweighs a recovery the store failed to record.
                let keep = first_err
                    .as_ref()
                    .is_some_and(|f: &Stop| !f.is_record() || e.is_record());
                if !keep {
                    first_err = Some(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Recovers every one of `ids` at once: a step's requests, one per node agent. Every
    /// one is tried; the first error is returned.
    pub(super) async fn recover_each(&self, ids: &[FaultId]) -> Result<(), Stop> {
        let results = join_all(ids.iter().map(|id| self.recover_one(id))).await;
        results
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), Err)
    }

    pub(super) fn next_fault_id(&self) -> FaultId {
        let mut n = self.next_fault.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        FaultId::new(format!("{}-f{}", short(&self.run), *n))
            .expect("run ids are short and alphanumeric")
    }
}

/// How often a fault is read back while it is not yet seen.
const VERIFY_EVERY: Duration = Duration::from_millis(250);
/// The most targets a verification event names one by one.
const EVIDENCE_SHOWN: usize = 10;

/// `TARGET: evidence; ...`, the targets not seen first, at most [`EVIDENCE_SHOWN`].
fn evidence(seen: &[Seen]) -> String {
    let mut order: Vec<&Seen> = seen.iter().filter(|s| !s.effective).collect();
    order.extend(seen.iter().filter(|s| s.effective));
    let mut parts: Vec<String> = order
        .iter()
        .take(EVIDENCE_SHOWN)
        .map(|s| format!("{}: {}", s.target, s.evidence))
        .collect();
    if seen.len() > EVIDENCE_SHOWN {
        parts.push(format!("and {} more", seen.len() - EVIDENCE_SHOWN));
    }
    parts.join("; ")
}

/// The earlier of two optional bounds.
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `d`, cut at `until`.
pub(super) fn bounded(d: Duration, until: Option<Instant>) -> Duration {
    until.map_or(d, |u| d.min(u.saturating_duration_since(Instant::now())))
}

/// Whether `until` has come.
fn passed(until: Option<Instant>) -> bool {
    until.is_some_and(|u| Instant::now() >= u)
}

/// The first 12 characters of a run id, used as the prefix of its fault ids.
fn short(run: &str) -> String {
    run.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect()
}
