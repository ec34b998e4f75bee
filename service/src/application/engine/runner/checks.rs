//! The runner's steady-state checks: judged once per phase, and continuously while faults
//! are active (where abort bounds are enforced).

use faultline_spec::steady::Phase;
use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::probes::CheckProbe;
use crate::domain::{RunEvent, RunState};

/// Most measurements of one check waiting for an answer at once while faults are active:
/// a hung service gets at most this many probe requests open, not one per interval until
/// the timeout.
const MAX_IN_FLIGHT: usize = 64;

impl Runner {
    pub(super) fn record_check(
        &self,
        check: &faultline_spec::SteadyCheck,
        phase: &str,
        eval: &crate::application::probes::Evaluation,
    ) -> Result<(), Stop> {
        self.record(check_event(check, phase, eval))
    }

    /// After an aborted run's faults are removed: did the system come back? The verdict
    /// stays `aborted`; the reason says whether the `after` checks held.
    pub(super) async fn check_after_abort(&self, reason: String) -> String {
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
            Err(stop) => format!("{reason}; after-checks failed: {}", stop.reason()),
        }
    }

    pub(super) fn prepare_checks(&self) -> Result<Vec<CheckProbe>, Stop> {
        let prom = self.opts.prometheus.as_ref();
        if prom.is_none() && !self.opts.alerts_pushed && !self.exp.spec.abort_on_alerts.is_empty() {
            return Err(Stop::error(RunError::AlertsUnwatched));
        }
        self.exp
            .spec
            .steady_state
            .iter()
            .map(|c| CheckProbe::new(c, prom))
            .collect::<Result<_, _>>()
            .map_err(|e| Stop::error(RunError::Check(e)))
    }

    /// Judges every check of `phase` once. With `wait_for_recovery`, a failing check is
    /// re-measured until it holds or its `recoveryWithin` passes.
    pub(super) async fn check_phase(
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
                    .map_err(|e| Stop::error(RunError::Check(e)))?;
                let window = if wait_for_recovery {
                    c.check.recovery_within.map(|d| d.std())
                } else {
                    None
                };
                let give_up = tokio::time::Instant::now() + window.unwrap_or_default();
                // A comparing check's baseline is its `samples` measurements before.
                let baseline = c
                    .check
                    .compare
                    .filter(|_| phase == Phase::Before)
                    .map(|cmp| cmp.samples as usize);
                loop {
                    let measure = async {
                        match baseline {
                            Some(n) => probe.measure_baseline(n).await,
                            None => probe.measure_once().await,
                        }
                    };
                    // After an abort the run still checks that the system came back; only
                    // a live run can be aborted out of its checks.
                    let eval = if abortable {
                        tokio::select! {
                            e = measure => e,
                            r = self.abort_signal() => return Err(Stop::Aborted(r)),
                        }
                    } else {
                        measure.await
                    };
                    self.record_check(&c.check, phase_name, &eval)?;
                    if eval.ok || tokio::time::Instant::now() >= give_up {
                        if baseline.is_some() {
                            self.samples.keep(&mut probe, "before");
                        }
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
    pub(super) fn spawn_monitor(
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
            let samples = self.samples.clone();
            tasks.push(tokio::spawn(async move {
                let mut failed = false;
                let mut judge = |probe: &mut CheckProbe, m| {
                    let eval = probe.observe(m);
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
                };
                // On a schedule, not one after another: a measurement starts every
                // interval while earlier ones are still waiting for a slow answer.
                let mut ticks = tokio::time::interval(probe.interval());
                ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
                let mut in_flight = FuturesUnordered::new();
                loop {
                    tokio::select! {
                        _ = stop.changed() => break,
                        Some(m) = in_flight.next() => judge(&mut probe, m),
                        _ = ticks.tick(), if in_flight.len() < MAX_IN_FLIGHT => {
                            in_flight.push(probe.start_measurement());
                        }
                    }
                }
                // Started while the faults were active: their answers belong to the window
                // however late they come (each is bounded by its check's timeout).
                while let Some(m) = in_flight.next().await {
                    judge(&mut probe, m);
                }
                // A comparing check's `during` verdict is its comparison, made once the
                // faults are removed; `expect` only colours its timeline here.
                if probe.check.compare.is_some() {
                    samples.keep(&mut probe, "during");
                    return None;
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
}

pub(super) fn check_event(
    check: &faultline_spec::SteadyCheck,
    phase: &str,
    eval: &crate::application::probes::Evaluation,
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

pub(super) fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Before => "before",
        Phase::During => "during",
        Phase::After => "after",
    }
}
