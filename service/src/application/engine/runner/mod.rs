//! Drives one experiment through the run state machine (DESIGN §3):
//! checking-before -> (injecting -> observing -> recovering)* -> checking-after -> verdict.
//!
//! Every transition and every fault and check result is recorded in the store before the
//! next step. Whatever happens — an abort, a failed apply, a deadline — every fault this
//! run applied is recovered before the run ends; a final sweep asks the agent for any
//! record carrying this run's id prefix, so not even a half-finished apply is left.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use faultline_agent::faults::FaultId;
use faultline_spec::Experiment;
use faultline_spec::steady::Phase;
use tokio::sync::watch;

mod checks;
mod cluster;
mod compare;
mod faults;
mod place;
mod safety;

use super::inject::Injector;
use super::plan::{guard_refusal, label as step_label};
use crate::application::ports::PodCluster;
use crate::application::ports::RunStore;
use crate::application::ports::observe::{FaultTraces, FnObserver, Observers, RunInfo};
use crate::application::probes::PrometheusClient;
use crate::domain::{RunEvent, RunState};

/// Settings a run takes from the service's configuration.
#[derive(Clone)]
pub struct RunOptions {
    /// The lease each fault is applied with; renewed every third of it while the run
    /// lives. If the engine dies, agents recover the faults when it lapses.
    pub lease: Duration,
    /// Where Prometheus checks are evaluated.
    pub prometheus: Option<PrometheusClient>,
    /// Who hears about every event (metrics, annotations, notifications, progress).
    pub observers: Observers,
    /// True when Alertmanager can push firing alerts (`serve`'s `/webhooks/alertmanager`):
    /// `spec.abortOnAlerts` then works without a Prometheus URL to poll.
    pub alerts_pushed: bool,
    /// The Kubernetes cluster, in cluster mode (`faultline serve --kubernetes`): pod
    /// targets are resolved and pod faults carried out through it.
    pub cluster: Option<Arc<dyn PodCluster>>,
    /// Where fault spans are opened before their apply call, so calls to node agents
    /// carry their trace context (the trace observer, when traces are exported).
    pub fault_traces: Option<Arc<dyn FaultTraces>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lease: Duration::from_secs(30),
            prometheus: None,
            observers: Observers::default(),
            alerts_pushed: false,
            cluster: None,
            fault_traces: None,
        }
    }
}

/// Lets others stop a run: an operator, a signal handler, an alert.
#[derive(Clone)]
pub struct AbortHandle(Arc<watch::Sender<Option<String>>>);

impl AbortHandle {
    /// Asks the run to stop, recover everything and end `aborted` with `reason`. The
    /// first reason wins.
    pub fn abort(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(reason);
                true
            } else {
                false
            }
        });
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone)]
enum Stop {
    Aborted(String),
    Error(String),
}

/// A fault this run has applied and not yet recovered.
#[derive(Clone)]
struct Active {
    id: FaultId,
    step: String,
    /// Where it was applied, so it is renewed and recovered there.
    place: place::Place,
}

/// One run of one experiment.
pub struct Runner {
    store: Arc<dyn RunStore>,
    injector: Injector,
    opts: RunOptions,
    run: String,
    exp: Experiment,
    state: Mutex<RunState>,
    active: Arc<Mutex<Vec<Active>>>,
    next_fault: Mutex<u32>,
    abort_tx: Arc<watch::Sender<Option<String>>>,
    info: RunInfo,
    /// Raw samples of checks with `compare:`, for their statistical verdict.
    samples: compare::Samples,
}

impl Runner {
    /// Prepares run `run` (already created in the store, `pending`) of `exp`.
    pub fn new(
        store: Arc<dyn RunStore>,
        injector: Injector,
        opts: RunOptions,
        run: String,
        exp: Experiment,
    ) -> Runner {
        let (abort_tx, _) = watch::channel(None);
        // Observers (annotations, notifications) name the commit and pipeline of a
        // GitLab-triggered run; the store has them since the run was created.
        let gitlab = store.run(&run).ok().and_then(|r| r.gitlab);
        let info = RunInfo {
            id: run.clone(),
            experiment: exp.metadata.name.clone(),
            gitlab,
        };
        Runner {
            store,
            injector,
            opts,
            run,
            exp,
            state: Mutex::new(RunState::Pending),
            active: Arc::new(Mutex::new(Vec::new())),
            next_fault: Mutex::new(0),
            abort_tx: Arc::new(abort_tx),
            info,
            samples: compare::Samples::default(),
        }
    }

    /// Calls `f` with every event after it is persisted (progress output).
    pub fn on_event(mut self, f: impl Fn(&RunEvent) + Send + Sync + 'static) -> Runner {
        self.opts.observers.push(Arc::new(FnObserver(f)));
        self
    }

    /// A handle that aborts this run.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle(self.abort_tx.clone())
    }

    /// Runs the experiment to its verdict.
    pub async fn execute(self) -> RunState {
        if let Some(deadline) = self.exp.spec.deadline {
            let abort = self.abort_handle();
            tokio::spawn(async move {
                tokio::time::sleep(deadline.std()).await;
                abort.abort(format!("deadline {deadline} exceeded"));
            });
        }
        let outcome = self.drive().await;
        let (verdict, reason) = match outcome {
            Ok(v) => v,
            Err(stop) => self.stop(stop).await,
        };
        self.sweep().await;
        let current = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !current.is_terminal()
            && let Err(Stop::Error(e) | Stop::Aborted(e)) = self.go(verdict, &reason)
        {
            tracing::error!(run = %self.run, error = %e, "could not record the verdict");
        }
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn drive(&self) -> Result<(RunState, String), Stop> {
        let checks = self.prepare_checks()?;
        self.go(RunState::CheckingBefore, "")?;
        if let Some(refusal) = guard_refusal(&self.exp) {
            return Ok((RunState::Failed, format!("{refusal}; nothing injected")));
        }
        if let Some(refusal) = self.cluster_guard().await? {
            return Ok((RunState::Failed, refusal));
        }
        if let Some(refusal) = self.error_budget_refusal().await? {
            return Ok((RunState::Failed, refusal));
        }
        let alerts = &self.exp.spec.abort_on_alerts;
        if let Some(prom) = self.opts.prometheus.as_ref().filter(|_| !alerts.is_empty()) {
            let firing = prom
                .firing_alerts(alerts)
                .await
                .map_err(|e| Stop::Error(format!("spec.abortOnAlerts: {e}")))?;
            if !firing.is_empty() {
                let reason = format!(
                    "not steady, nothing injected: alert {} is firing",
                    firing.join(", ")
                );
                return Ok((RunState::Failed, reason));
            }
        }
        let failed_before = self.check_phase(&checks, Phase::Before, false).await?;
        if !failed_before.is_empty() {
            let reason = format!(
                "not steady, nothing injected: {} failed before injection",
                failed_before.join(", ")
            );
            return Ok((RunState::Failed, reason));
        }

        let (monitor_stop, monitor) = self.spawn_monitor(&checks);
        let alert_watch = self.spawn_alert_watch();
        let renewer = self.spawn_renewer();
        let mut result = Ok(());
        for (i, step) in self.exp.spec.steps.iter().enumerate() {
            let label = step_label(step, i);
            if let Err(stop) = self.go(RunState::Injecting, &label) {
                result = Err(stop);
                break;
            }
            result = self.exec_step(step, label.clone()).await;
            if result.is_err() {
                break;
            }
            if let Err(stop) = self
                .enter_recovering(&format!("step {label} done"))
                .and(self.recover_all().await)
            {
                result = Err(stop);
                break;
            }
        }
        let _ = monitor_stop.send(true);
        renewer.abort();
        if let Some(w) = alert_watch {
            w.abort();
        }
        let failed_during = monitor.await.unwrap_or_default();
        result?;
        if let Some(reason) = self.aborted() {
            return Err(Stop::Aborted(reason));
        }

        let worse = self.compare_windows(&checks)?;
        self.go(RunState::CheckingAfter, "")?;
        let failed_after = self.check_phase(&checks, Phase::After, true).await?;
        let mut why = worse;
        if !failed_during.is_empty() {
            why.push(format!(
                "{} failed during the faults",
                failed_during.join(", ")
            ));
        }
        if !failed_after.is_empty() {
            why.push(format!("{} did not recover after", failed_after.join(", ")));
        }
        if why.is_empty() {
            Ok((RunState::Passed, "every steady-state check held".into()))
        } else {
            Ok((RunState::Failed, why.join("; ")))
        }
    }

    /// Recovers everything and names the terminal state for an early stop.
    async fn stop(&self, stop: Stop) -> (RunState, String) {
        let (verdict, reason) = match stop {
            Stop::Aborted(r) => (RunState::Aborted, r),
            Stop::Error(r) => (RunState::Error, r),
        };
        let nothing_injected = matches!(
            *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            RunState::Pending | RunState::CheckingBefore
        );
        if !nothing_injected {
            let _ = self.enter_recovering(&reason);
            if let Err(Stop::Error(e) | Stop::Aborted(e)) = self.recover_all().await {
                return (
                    RunState::Error,
                    format!("{reason}; and recovery failed: {e}"),
                );
            }
            if verdict == RunState::Aborted {
                return (verdict, self.check_after_abort(reason).await);
            }
        }
        (verdict, reason)
    }

    async fn wait(&self, d: Duration) -> Result<(), Stop> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            r = self.abort_signal() => Err(Stop::Aborted(r)),
        }
    }

    /// Resolves when the run is aborted, with the reason.
    async fn abort_signal(&self) -> String {
        let mut rx = self.abort_tx.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    fn aborted(&self) -> Option<String> {
        self.abort_tx.borrow().clone()
    }

    fn enter_observing(&self, why: &str) -> Result<(), Stop> {
        let cur = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        if cur == RunState::Injecting {
            self.go(RunState::Observing, why)
        } else {
            Ok(())
        }
    }

    fn enter_recovering(&self, why: &str) -> Result<(), Stop> {
        let cur = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        if cur == RunState::Recovering {
            Ok(())
        } else {
            self.go(RunState::Recovering, why)
        }
    }

    fn go(&self, to: RunState, reason: &str) -> Result<(), Stop> {
        self.record(RunEvent::StateChanged {
            to,
            reason: reason.to_string(),
        })?;
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = to;
        Ok(())
    }

    fn record_check(
        &self,
        check: &faultline_spec::SteadyCheck,
        phase: &str,
        eval: &crate::application::probes::Evaluation,
    ) -> Result<(), Stop> {
        self.record(checks::check_event(check, phase, eval))
    }

    /// Opens the span of fault request `id` before it is applied; its trace context.
    fn trace_starting(&self, id: &FaultId) -> Option<faultline_exporter::TraceParent> {
        let t = self.opts.fault_traces.as_ref()?;
        t.fault_starting(&self.info, id.as_str())
    }

    /// The trace context of fault request `id` (renewals, recovery).
    fn trace_of(&self, id: &FaultId) -> Option<faultline_exporter::TraceParent> {
        let t = self.opts.fault_traces.as_ref()?;
        t.fault_context(&self.info, id.as_str())
    }

    fn record(&self, ev: RunEvent) -> Result<(), Stop> {
        self.record_all(vec![ev])
    }

    /// Persists `evs` in one transaction, then tells the observers of each in order: the
    /// events of a step over many targets cost one commit, not one each.
    fn record_all(&self, evs: Vec<RunEvent>) -> Result<(), Stop> {
        if evs.is_empty() {
            return Ok(());
        }
        self.store
            .record_all(&self.run, &evs)
            .map_err(|e| Stop::Error(format!("store: {e}")))?;
        for ev in &evs {
            self.opts.observers.notify(&self.info, ev);
        }
        Ok(())
    }
}
