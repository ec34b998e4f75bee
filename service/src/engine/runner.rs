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
use faultline_agent::protocol::ApplyRequest;
use faultline_agent::spec::steady::Phase;
use faultline_agent::spec::{Experiment, FaultStep, Step, Target};
use futures::future::{BoxFuture, join_all};
use tokio::sync::watch;

use super::inject::Injector;
use super::observe::{FnObserver, Observers, RunInfo};
use super::plan::{guard_refusal, label as step_label};
use super::{RunEvent, RunState};
use crate::checks::{CheckProbe, PrometheusClient};
use crate::store::Store;

/// How often `spec.abortOnAlerts` is checked while faults are active.
const ALERT_POLL: Duration = Duration::from_millis(500);

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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lease: Duration::from_secs(30),
            prometheus: None,
            observers: Observers::default(),
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
#[derive(Debug, Clone)]
struct Active {
    id: FaultId,
    step: String,
}

/// One run of one experiment.
pub struct Runner {
    store: Arc<Store>,
    injector: Injector,
    opts: RunOptions,
    run: String,
    exp: Experiment,
    state: Mutex<RunState>,
    active: Arc<Mutex<Vec<Active>>>,
    next_fault: Mutex<u32>,
    abort_tx: Arc<watch::Sender<Option<String>>>,
    info: RunInfo,
}

impl Runner {
    /// Prepares run `run` (already created in the store, `pending`) of `exp`.
    pub fn new(
        store: Arc<Store>,
        injector: Injector,
        opts: RunOptions,
        run: String,
        exp: Experiment,
    ) -> Runner {
        let (abort_tx, _) = watch::channel(None);
        let info = RunInfo {
            id: run.clone(),
            experiment: exp.metadata.name.clone(),
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

        self.go(RunState::CheckingAfter, "")?;
        let failed_after = self.check_phase(&checks, Phase::After, true).await?;
        let mut why = Vec::new();
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

    /// After an aborted run's faults are removed: did the system come back? The verdict
    /// stays `aborted`; the reason says whether the `after` checks held.
    async fn check_after_abort(&self, reason: String) -> String {
        let Ok(checks) = self.prepare_checks() else {
            return reason;
        };
        if !checks
            .iter()
            .any(|c| c.check.phases.contains(&Phase::After))
        {
            return reason;
        }
        if self
            .go(RunState::CheckingAfter, "checking recovery after the abort")
            .is_err()
        {
            return reason;
        }
        match self.check_phase(&checks, Phase::After, true).await {
            Ok(failed) if failed.is_empty() => {
                format!("{reason}; the steady state came back after recovery")
            }
            Ok(failed) => format!("{reason}; {} did not recover after", failed.join(", ")),
            Err(Stop::Error(e) | Stop::Aborted(e)) => format!("{reason}; after-checks failed: {e}"),
        }
    }

    /// `guard.errorBudget`: the service may only be hurt while it has budget to spare.
    /// Returns why the run is refused, if it is.
    async fn error_budget_refusal(&self) -> Result<Option<String>, Stop> {
        let Some(budget) = &self.exp.spec.guard.error_budget else {
            return Ok(None);
        };
        let prom = self.opts.prometheus.as_ref().ok_or_else(|| {
            Stop::Error("spec.guard.errorBudget needs a Prometheus URL (--prometheus URL or FAULTLINE_PROMETHEUS_URL)".into())
        })?;
        let measured = prom.instant(&budget.prometheus).await;
        let (value, error) = match &measured {
            Ok(v) => (Some(*v), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ok = value.is_some_and(|v| budget.expect.holds(v));
        self.record(RunEvent::CheckEvaluated {
            check: "guard.errorBudget".into(),
            phase: "before".into(),
            value,
            expect: budget.expect.to_string(),
            ok,
            error: error.clone(),
        })?;
        Ok((!ok).then(|| match (value, error) {
            (Some(v), _) => format!(
                "guard: error budget `{}` = {v} does not meet `{}`; nothing injected",
                budget.prometheus, budget.expect
            ),
            (None, e) => format!(
                "guard: error budget `{}` could not be measured ({}); nothing injected",
                budget.prometheus,
                e.unwrap_or_default()
            ),
        }))
    }

    /// Aborts the run as soon as one of `spec.abortOnAlerts` fires in Prometheus.
    fn spawn_alert_watch(&self) -> Option<tokio::task::JoinHandle<()>> {
        let alerts = self.exp.spec.abort_on_alerts.clone();
        let prom = self
            .opts
            .prometheus
            .clone()
            .filter(|_| !alerts.is_empty())?;
        let abort = self.abort_handle();
        Some(tokio::spawn(async move {
            loop {
                match prom.firing_alerts(&alerts).await {
                    Ok(firing) if !firing.is_empty() => {
                        abort.abort(format!("alert {} is firing", firing.join(", ")));
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read alerts for spec.abortOnAlerts")
                    }
                }
                tokio::time::sleep(ALERT_POLL).await;
            }
        }))
    }

    fn prepare_checks(&self) -> Result<Vec<CheckProbe>, Stop> {
        let prom = self.opts.prometheus.as_ref();
        if prom.is_none() && !self.exp.spec.abort_on_alerts.is_empty() {
            return Err(Stop::Error(
                "spec.abortOnAlerts needs a Prometheus URL (--prometheus URL or FAULTLINE_PROMETHEUS_URL) to watch the alerts".into(),
            ));
        }
        self.exp
            .spec
            .steady_state
            .iter()
            .map(|c| CheckProbe::new(c, prom))
            .collect::<Result<_, _>>()
            .map_err(Stop::Error)
    }

    /// Judges every check of `phase` once. With `wait_for_recovery`, a failing check is
    /// re-measured until it holds or its `recoveryWithin` passes.
    async fn check_phase(
        &self,
        checks: &[CheckProbe],
        phase: Phase,
        wait_for_recovery: bool,
    ) -> Result<Vec<String>, Stop> {
        let phase_name = phase_name(phase);
        let abortable = self.aborted().is_none();
        let work = checks
            .iter()
            .filter(|c| c.check.phases.contains(&phase))
            .map(|c| async move {
                // Each judgement builds its own probe so the phases do not share windows.
                let mut probe = CheckProbe::new(&c.check, self.opts.prometheus.as_ref())
                    .map_err(Stop::Error)?;
                let window = if wait_for_recovery {
                    c.check.recovery_within.map(|d| d.std())
                } else {
                    None
                };
                let give_up = tokio::time::Instant::now() + window.unwrap_or_default();
                loop {
                    // After an abort the run still checks that the system came back; only
                    // a live run can be aborted out of its checks.
                    let eval = if abortable {
                        tokio::select! {
                            e = probe.measure_once() => e,
                            r = self.abort_signal() => return Err(Stop::Aborted(r)),
                        }
                    } else {
                        probe.measure_once().await
                    };
                    self.record_check(&c.check, phase_name, &eval)?;
                    if eval.ok || tokio::time::Instant::now() >= give_up {
                        return Ok((!eval.ok).then(|| c.check.name.clone()));
                    }
                    tokio::time::sleep(probe.interval()).await;
                }
            });
        let results = join_all(work).await;
        let mut failed = Vec::new();
        for r in results {
            if let Some(name) = r? {
                failed.push(name);
            }
        }
        Ok(failed)
    }

    /// Measures the `during` checks continuously until told to stop; breaching an abort
    /// bound aborts the run. Returns the names of checks that failed at least once.
    fn spawn_monitor(
        &self,
        checks: &[CheckProbe],
    ) -> (watch::Sender<bool>, tokio::task::JoinHandle<Vec<String>>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for c in checks
            .iter()
            .filter(|c| c.check.phases.contains(&Phase::During))
        {
            let Ok(mut probe) = CheckProbe::new(&c.check, self.opts.prometheus.as_ref()) else {
                continue;
            };
            let mut stop = stop_rx.clone();
            let store = self.store.clone();
            let run = self.run.clone();
            let abort = self.abort_handle();
            let observers = self.opts.observers.clone();
            let info = self.info.clone();
            tasks.push(tokio::spawn(async move {
                let mut failed = false;
                loop {
                    let eval = tokio::select! {
                        e = probe.measure_continuous() => e,
                        _ = stop.changed() => break,
                    };
                    failed |= !eval.ok;
                    if let Some(breach) = eval.value.and_then(|v| probe.abort_breach(v)) {
                        abort.abort(breach);
                    }
                    let ev = check_event(&probe.check, "during", &eval);
                    match store.record(&run, &ev) {
                        Ok(_) => observers.notify(&info, &ev),
                        Err(e) => {
                            tracing::error!(%run, error = %e, "could not record a during check")
                        }
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(probe.interval()) => {}
                        _ = stop.changed() => break,
                    }
                }
                failed.then(|| probe.check.name.clone())
            }));
        }
        let handle = tokio::spawn(async move {
            join_all(tasks)
                .await
                .into_iter()
                .filter_map(|r| r.ok().flatten())
                .collect()
        });
        (stop_tx, handle)
    }

    /// Renews every active fault's lease every third of the lease.
    fn spawn_renewer(&self) -> tokio::task::JoinHandle<()> {
        let injector = self.injector.clone();
        let lease = self.opts.lease;
        let active = self.active.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let ids: Vec<FaultId> = active
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .map(|a| a.id.clone())
                    .collect();
                for id in ids {
                    if let Err(e) = injector.renew(&id, lease.as_secs().max(1)).await {
                        tracing::warn!(fault = %id, error = %e, "lease renewal failed; the agent recovers the fault when the lease lapses");
                    }
                }
            }
        })
    }

    fn exec_step<'s>(&'s self, step: &'s Step, label: String) -> BoxFuture<'s, Result<(), Stop>> {
        Box::pin(async move {
            match step {
                Step::Fault(f) => self.exec_fault(f, label).await,
                Step::Suspend(d) => {
                    self.enter_observing(&format!("suspend {d}"))?;
                    self.wait(d.std()).await
                }
                Step::Serial(children) => {
                    for (i, c) in children.iter().enumerate() {
                        self.exec_step(c, format!("{label}.{}", step_label(c, i)))
                            .await?;
                    }
                    Ok(())
                }
                Step::Parallel(children) => {
                    // join_all, not try_join_all: a sibling that is mid-apply must finish
                    // and register its fault so it can be recovered, never be dropped.
                    let runs = children
                        .iter()
                        .enumerate()
                        .map(|(i, c)| self.exec_step(c, format!("{label}.{}", step_label(c, i))));
                    let results = join_all(runs).await;
                    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
                }
            }
        })
    }

    async fn exec_fault(&self, f: &FaultStep, label: String) -> Result<(), Stop> {
        if let Some(r) = self.aborted() {
            return Err(Stop::Aborted(r));
        }
        let target = f.target.as_ref().or(self.exp.spec.target.as_ref());
        let local = match target {
            Some(Target::Local(t)) => t.clone(),
            Some(Target::Kubernetes(_)) => {
                return Err(Stop::Error(format!(
                    "step {label}: Kubernetes pod targets need `faultline serve` with cluster access (not built yet); use a `local` target with `faultline run`"
                )));
            }
            None => {
                return Err(Stop::Error(format!(
                    "step {label}: no target (set spec.target or the step's target)"
                )));
            }
        };
        let id = self.next_fault_id();
        let req = ApplyRequest {
            id: id.clone(),
            kind: f.fault.clone(),
            targets: vec![local],
            lease_seconds: self.opts.lease.as_secs().max(1),
        };
        // Registered before the call: if the run stops while the apply is in flight, the
        // sweep still recovers it by id.
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Active {
                id: id.clone(),
                step: label.clone(),
            });
        let records = match self.injector.apply(req).await {
            Ok(r) => r,
            Err(e) => {
                self.forget(&id);
                return Err(Stop::Error(format!("step {label}: {e}")));
            }
        };
        for r in &records {
            self.record(RunEvent::FaultApplied {
                fault: r.id.to_string(),
                kind: f.fault.name().into(),
                target: r.target.to_string(),
                step: label.clone(),
            })?;
        }
        self.enter_observing(&label)?;
        if f.fault.is_instant() {
            // The agent applies a kill once and journals it recovered at once.
            self.forget(&id);
            for r in &records {
                self.record(RunEvent::FaultRecovered {
                    fault: r.id.to_string(),
                    outcome: "instant".into(),
                })?;
            }
            return Ok(());
        }
        self.wait(f.duration.map(|d| d.std()).unwrap_or_default())
            .await?;
        self.recover_one(&id).await
    }

    async fn recover_one(&self, id: &FaultId) -> Result<(), Stop> {
        match self.injector.recover(id).await {
            Ok(recovered) => {
                self.forget(id);
                for r in recovered {
                    let outcome = serde_json::to_value(&r.outcome)
                        .ok()
                        .and_then(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .or_else(|| Some(v.to_string()))
                        })
                        .unwrap_or_default();
                    self.record(RunEvent::FaultRecovered {
                        fault: r.id.to_string(),
                        outcome,
                    })?;
                }
                Ok(())
            }
            Err(e) => Err(Stop::Error(format!("recovering {id}: {e}"))),
        }
    }

    async fn recover_all(&self) -> Result<(), Stop> {
        let ids: Vec<FaultId> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let mut first_err = None;
        for id in ids {
            if let Err(e) = self.recover_one(&id).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Last line of defence: anything still registered is recovered again (idempotent).
    async fn sweep(&self) {
        let left: Vec<Active> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for a in left {
            if let Err(e) = self.injector.recover(&a.id).await {
                tracing::error!(run = %self.run, fault = %a.id, step = %a.step, error = %e, "fault could not be recovered; its lease will lapse");
            }
        }
    }

    fn forget(&self, id: &FaultId) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|a| &a.id != id);
    }

    fn next_fault_id(&self) -> FaultId {
        let mut n = self.next_fault.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        FaultId::new(format!("{}-f{}", short(&self.run), *n))
            .expect("run ids are short and alphanumeric")
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
        check: &faultline_agent::spec::SteadyCheck,
        phase: &str,
        eval: &crate::checks::Evaluation,
    ) -> Result<(), Stop> {
        self.record(check_event(check, phase, eval))
    }

    fn record(&self, ev: RunEvent) -> Result<(), Stop> {
        self.store
            .record(&self.run, &ev)
            .map_err(|e| Stop::Error(format!("store: {e}")))?;
        self.opts.observers.notify(&self.info, &ev);
        Ok(())
    }
}

fn check_event(
    check: &faultline_agent::spec::SteadyCheck,
    phase: &str,
    eval: &crate::checks::Evaluation,
) -> RunEvent {
    RunEvent::CheckEvaluated {
        check: check.name.clone(),
        phase: phase.to_string(),
        value: eval.value,
        expect: check.expect.to_string(),
        ok: eval.ok,
        error: eval.error.clone(),
    }
}

/// One line per event, for `faultline run` and `demo`.
pub fn print_progress(ev: &RunEvent) {
    match ev {
        RunEvent::StateChanged { to, reason } if reason.is_empty() => println!("  -> {to}"),
        RunEvent::StateChanged { to, reason } => println!("  -> {to}: {reason}"),
        RunEvent::CheckEvaluated {
            check,
            phase,
            value,
            expect,
            ok,
            error,
        } => {
            let v = value.map_or_else(|| error.clone().unwrap_or_default(), |v| format!("{v:.4}"));
            println!(
                "     check {check} ({phase}) = {v} [{expect}] {}",
                if *ok { "ok" } else { "NOT MET" }
            );
        }
        RunEvent::FaultApplied {
            kind, target, step, ..
        } => println!("     + {kind} on {target} ({step})"),
        RunEvent::FaultRecovered { fault, outcome } => {
            println!("     - {fault} recovered: {outcome}")
        }
        RunEvent::Note { message } => println!("     {message}"),
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Before => "before",
        Phase::During => "during",
        Phase::After => "after",
    }
}

/// The first 12 characters of a run id, used as the prefix of its fault ids.
fn short(run: &str) -> String {
    run.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect()
}
