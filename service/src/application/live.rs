//! The runs this service is driving: start one in the background, abort one or all, wait
//! for them, and tell event streams when a run has news.
//!
//! Runs are spawned on the runtime the service was started on, not on an HTTP worker's,
//! so a run outlives the request that created it and a worker's restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_exporter::ServiceMetrics;
use faultline_spec::Experiment;
use tokio::sync::{Notify, watch};

use crate::application::audit::Auditor;
use crate::application::engine::inject::Injector;
use crate::application::engine::runner::{AbortHandle, RunOptions, Runner};
use crate::application::governance::Clock;
use crate::application::governance::veto::namespaces_of;
use crate::application::governance::windows::{self, ChangeWindow, Closing};
use crate::application::ports::{Halt, PodCluster, Storage};
use crate::application::runs::{RunsError, create_run_from};
use crate::application::schedule_book::ScheduleBook;
use crate::domain::GitlabContext;
use crate::domain::RunEvent;
use crate::domain::{Actor, AuditAction, AuditOutcome, NewAudit};

/// Why a run could not be started or aborted.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The service is shutting down and takes no new runs.
    #[error("the service is shutting down; no new runs")]
    ShuttingDown,
    /// The run could not be created in the store.
    #[error("failed to create the run in the store")]
    Create(#[source] RunsError),
    /// The run is not driven by this service (finished, unknown, or a previous process's).
    #[error("run {0} is not running here")]
    NotLive(String),
    /// The emergency stop is engaged: no run starts until it is released.
    #[error("emergency stop engaged by {} at {}: {}; no new runs until `faultline resume`", .0.actor, .0.at.format("%Y-%m-%d %H:%M:%S UTC"), .0.reason)]
    Halted(Halt),
    /// A change window does not allow the run now.
    #[error("{0}")]
    OutsideWindow(crate::application::governance::Outside),
    /// The emergency stop could not be read; refusing is the safe side.
    #[error("cannot read the emergency stop; refusing to start runs")]
    HaltUnknown(#[source] crate::application::ports::StoreError),
    /// The experiment says `guard.dryRun`: it injects nothing, so no run starts.
    #[error(
        "experiment {0} is a dry run (guard.dryRun: true): it injects nothing, so no run was started; POST it to /api/v1/runs or use `faultline run --dry-run` for its plan"
    )]
    DryRun(String),
}

struct Live {
    abort: AbortHandle,
    /// `spec.abortOnAlerts`: alert names that end the run when Alertmanager says they fire.
    alerts: Vec<String>,
    /// The number of events recorded so far; event streams wait on changes.
    news: watch::Receiver<u64>,
}

/// The service's live runs.
pub struct LiveRuns {
    store: Arc<dyn Storage>,
    injector: Injector,
    opts: RunOptions,
    metrics: Arc<ServiceMetrics>,
    runtime: tokio::runtime::Handle,
    runs: Mutex<HashMap<String, Live>>,
    closed: AtomicBool,
    idle: Notify,
    /// What the scheduler started and skipped, for Forbid and `GET /api/v1/schedules`.
    schedules: ScheduleBook,
    /// Where every start, refusal and abort is recorded.
    audit: Arc<Auditor>,
    /// The change windows every trigger is checked against, and their clock.
    windows: std::sync::OnceLock<(Vec<ChangeWindow>, Arc<dyn Clock>)>,
}

impl LiveRuns {
    /// A registry whose runs use `injector` and `opts` and are spawned on the current
    /// tokio runtime.
    pub fn new(
        store: Arc<dyn Storage>,
        injector: Injector,
        opts: RunOptions,
        metrics: Arc<ServiceMetrics>,
    ) -> LiveRuns {
        LiveRuns {
            injector,
            opts,
            metrics,
            runtime: tokio::runtime::Handle::current(),
            runs: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            idle: Notify::new(),
            schedules: ScheduleBook::default(),
            audit: Arc::new(Auditor::new(store.clone())),
            windows: std::sync::OnceLock::new(),
            store,
        }
    }

    /// Checks every trigger from now on against `windows` on `clock` (once; later calls
    /// are ignored), and aborts a run when a window governing it closes.
    pub fn set_windows(&self, windows: Vec<ChangeWindow>, clock: Arc<dyn Clock>) {
        let _ = self.windows.set((windows, clock));
    }

    /// The audit log every action of the service is recorded in.
    pub fn audit(&self) -> &Arc<Auditor> {
        &self.audit
    }

    /// The injector runs use.
    pub fn injector(&self) -> &Injector {
        &self.injector
    }

    /// The cluster runs use, in cluster mode.
    pub fn cluster(&self) -> Option<&Arc<dyn PodCluster>> {
        self.opts.cluster.as_ref()
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a `pending` run of `exp` and starts it in the background; returns its id
    /// as soon as the run is in the store.
    pub fn start(self: &Arc<Self>, exp: Experiment) -> Result<String, LiveError> {
        self.start_from(exp, None)
    }

    /// [`LiveRuns::start`] for a run that GitLab event `gitlab` triggered, by the
    /// pipeline's actor (or the service's, without one).
    pub fn start_from(
        self: &Arc<Self>,
        exp: Experiment,
        gitlab: Option<GitlabContext>,
    ) -> Result<String, LiveError> {
        let actor = gitlab
            .as_ref()
            .map_or_else(|| Actor::system("unattributed"), Actor::gitlab);
        self.start_as(exp, gitlab, actor)
    }

    /// Starts a run of `exp` that `actor` asked for (with GitLab event `gitlab`, if any).
    /// Every trigger (API, webhook, schedule) comes through here, so the emergency stop
    /// is checked here, and the attempt is audited here whatever its outcome.
    pub fn start_as(
        self: &Arc<Self>,
        exp: Experiment,
        gitlab: Option<GitlabContext>,
        actor: Actor,
    ) -> Result<String, LiveError> {
        let attempt = NewAudit::ok(actor, AuditAction::RunStart, exp.metadata.name.clone());
        self.start_checked(exp, gitlab, &attempt).inspect_err(|e| {
            let outcome = match e {
                LiveError::Create(_) | LiveError::HaltUnknown(_) => AuditOutcome::Failed,
                _ => AuditOutcome::Refused,
            };
            self.audit
                .record(attempt.clone().ended(outcome, e.to_string()));
        })
    }

    fn start_checked(
        self: &Arc<Self>,
        exp: Experiment,
        gitlab: Option<GitlabContext>,
        attempt: &NewAudit,
    ) -> Result<String, LiveError> {
        let actor = attempt.actor.clone();
        if self.closed.load(Ordering::SeqCst) {
            return Err(LiveError::ShuttingDown);
        }
        // A dry run asked for through the API is answered with its plan before it gets
        // here; a webhook, a schedule or a catalog run of one would otherwise inject.
        if exp.spec.guard.dry_run {
            return Err(LiveError::DryRun(exp.metadata.name.clone()));
        }
        if let Some(h) = self.store.halted().map_err(LiveError::HaltUnknown)? {
            return Err(LiveError::Halted(h));
        }
        let closing = match self.windows.get() {
            Some((all, clock)) => {
                let governing = windows::governing(all, &exp.metadata.name, &namespaces_of(&exp));
                let now = clock.now();
                windows::check(&governing, now).map_err(LiveError::OutsideWindow)?;
                windows::closing(&governing, now).map(|c| (c, clock.clone()))
            }
            None => None,
        };
        let id = create_run_from(&*self.store, &exp, gitlab.as_ref()).map_err(LiveError::Create)?;
        // Recorded before the run is spawned, so the start comes before anything the run
        // itself records (a guard refusal, the veto, a window's abort).
        self.audit
            .record(attempt.clone().ended(AuditOutcome::Ok, format!("run {id}")));
        let experiment = exp.metadata.name.clone();
        let alerts = exp.spec.abort_on_alerts.clone();
        self.metrics.run_started(&experiment);
        let (news_tx, news_rx) = watch::channel(0u64);
        let faults = Arc::new(Mutex::new(HashMap::<String, String>::new()));
        let on_event = {
            let metrics = self.metrics.clone();
            let faults = faults.clone();
            let experiment = experiment.clone();
            move |ev: &RunEvent| {
                observe(&metrics, &experiment, &faults, ev);
                news_tx.send_modify(|n| *n += 1);
            }
        };
        let runner = Runner::new(
            self.store.clone(),
            self.injector.clone(),
            self.opts.clone(),
            id.clone(),
            exp,
        )
        .gitlab(gitlab)
        .on_event(on_event)
        .triggered_by(actor, Some(self.audit.clone()));
        let abort = runner.abort_handle();
        if let Some((closing, clock)) = closing {
            self.close_with_window(&id, closing, clock, abort.clone(), news_rx.clone());
        }
        let me = self.clone();
        let run = id.clone();
        // The lock is held across the spawn so the task cannot finish and deregister
        // before it is registered.
        let mut runs = self.runs();
        runs.insert(
            id.clone(),
            Live {
                abort,
                alerts,
                news: news_rx,
            },
        );
        self.runtime.spawn(async move {
            let started = Instant::now();
            let verdict = runner.execute().await;
            me.metrics.run_finished(
                &experiment,
                verdict.as_str(),
                started.elapsed().as_secs_f64(),
            );
            // Whatever the run did not see recovered is gone now (recovered by the final
            // sweep, or its lease lapses): the gauge must not keep counting it.
            for (_, kind) in faults.lock().unwrap_or_else(|p| p.into_inner()).drain() {
                me.metrics.fault_active(&kind, -1);
            }
            // A terminal verdict is one the store holds (the runner takes a state only
            // once it is persisted); any other means the store missed the end.
            if !verdict.is_terminal() {
                crate::application::settle::settle(&*me.store, &run).await;
            }
            tracing::info!(%run, %verdict, "run finished");
            me.runs().remove(&run);
            me.idle.notify_waiters();
        });
        drop(runs);
        Ok(id)
    }

    /// Aborts run `id` when `closing`'s window closes, unless it has ended by then (its
    /// event feed `news` closes with it). The abort recovers the faults like any other.
    fn close_with_window(
        &self,
        id: &str,
        closing: Closing,
        clock: Arc<dyn Clock>,
        abort: AbortHandle,
        mut news: watch::Receiver<u64>,
    ) {
        let wait = (closing.at - clock.now()).to_std().unwrap_or_default();
        let audit = self.audit.clone();
        let run = id.to_string();
        self.runtime.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    let reason = format!(
                        "change window `{}` closed at {}",
                        closing.window,
                        closing.at.to_rfc3339()
                    );
                    tracing::warn!(%run, %reason, "aborting a run at its change window's end");
                    abort.abort(reason.clone());
                    audit.record(
                        NewAudit::ok(Actor::system("change-window"), AuditAction::RunAbort, run)
                            .ended(AuditOutcome::Ok, reason),
                    );
                }
                () = async { while news.changed().await.is_ok() {} } => {}
            }
        });
    }

    /// Asks live run `id` to abort with `reason`.
    pub fn abort(&self, id: &str, reason: &str) -> Result<(), LiveError> {
        match self.runs().get(id) {
            Some(l) => {
                l.abort.abort(reason);
                Ok(())
            }
            None => Err(LiveError::NotLive(id.to_string())),
        }
    }

    /// Aborts every live run whose `spec.abortOnAlerts` names `alert`, with `reason`.
    /// Returns their ids.
    pub fn abort_on_alert(&self, alert: &str, reason: &str) -> Vec<String> {
        let runs = self.runs();
        runs.iter()
            .filter(|(_, l)| l.alerts.iter().any(|a| a == alert))
            .map(|(id, l)| {
                l.abort.abort(reason);
                id.clone()
            })
            .collect()
    }

    /// A receiver that changes whenever run `id` records an event; `None` if the run is
    /// not live here.
    pub fn news(&self, id: &str) -> Option<watch::Receiver<u64>> {
        self.runs().get(id).map(|l| l.news.clone())
    }

    /// Whether run `id` is live here (started and not finished).
    pub fn is_live(&self, id: &str) -> bool {
        self.runs().contains_key(id)
    }

    /// What the scheduler started and skipped.
    pub fn schedules(&self) -> &ScheduleBook {
        &self.schedules
    }

    /// The number of live runs.
    pub fn len(&self) -> usize {
        self.runs().len()
    }

    /// True when no run is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses new runs from now on and aborts every live one with `reason`.
    pub fn abort_all(&self, reason: &str) {
        self.closed.store(true, Ordering::SeqCst);
        self.abort_live(reason);
    }

    /// Aborts every live run with `reason` (the emergency stop; new runs are refused by
    /// the stored halt, not by closing the registry). Returns their ids.
    pub fn abort_live(&self, reason: &str) -> Vec<String> {
        let runs = self.runs();
        for l in runs.values() {
            l.abort.abort(reason);
        }
        runs.keys().cloned().collect()
    }

    /// Waits until no run is live (each has recovered its faults and has its verdict),
    /// or `timeout` passes; returns whether all finished.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            if self.is_empty() {
                return true;
            }
            // A short poll as well as the notification: a task may deregister between the
            // check and the await.
            let step = Duration::from_millis(200);
            if tokio::time::timeout_at(deadline, tokio::time::timeout(step, notified))
                .await
                .is_err()
            {
                return self.is_empty();
            }
        }
    }
}

/// Keeps the service's metrics in step with one run's events.
fn observe(
    m: &ServiceMetrics,
    experiment: &str,
    faults: &Mutex<HashMap<String, String>>,
    ev: &RunEvent,
) {
    match ev {
        RunEvent::FaultApplied { fault, kind, .. } => {
            let mut f = faults.lock().unwrap_or_else(|p| p.into_inner());
            if f.insert(fault.clone(), kind.clone()).is_none() {
                m.fault_active(kind, 1);
            }
        }
        RunEvent::FaultRecovered { fault, .. } => {
            if let Some(kind) = faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(fault)
            {
                m.fault_active(&kind, -1);
            }
        }
        RunEvent::CheckEvaluated {
            check,
            phase,
            value: Some(v),
            ..
        } => m.check_value(experiment, check, phase, *v),
        RunEvent::CheckEvaluated { .. }
        | RunEvent::CheckCompared { .. }
        | RunEvent::Note { .. }
        | RunEvent::StatusCheckDecided { .. }
        | RunEvent::TaskFinished { .. }
        | RunEvent::FaultVerified { .. }
        | RunEvent::FaultUnverified { .. }
        | RunEvent::StateChanged { .. } => {}
    }
}
