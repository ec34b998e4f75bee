//! The order of a run (DESIGN §3): checking-before -> (injecting -> observing ->
//! recovering)* -> checking-after -> verdict, and how an early stop ends it.

use faultline_spec::steady::Phase;

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::engine::plan::label as step_label;
use crate::domain::RunState;

impl Runner {
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
            && let Err(stop) = self.go(verdict, &reason)
        {
            tracing::error!(run = %self.run, error = %stop.reason(), "could not record the verdict");
        }
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn drive(&self) -> Result<(RunState, String), Stop> {
        let checks = self.prepare_checks()?;
        self.go(RunState::CheckingBefore, "")?;
        if let Some(refusal) = self.guard().await? {
            self.audit_guard_refusal(&refusal);
            return Ok((RunState::Failed, refusal));
        }
        self.preflight().await?;
        let alerts = &self.exp.spec.abort_on_alerts;
        if let Some(prom) = self.opts.prometheus.as_ref().filter(|_| !alerts.is_empty()) {
            let firing = prom
                .firing_alerts(alerts)
                .await
                .map_err(|e| Stop::error(RunError::Alerts(e)))?;
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
            result = self.exec_step(step, label.clone(), None).await;
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
        why.extend(self.status_checks.failures());
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
        let verdict = match &stop {
            // A status check with `abortRun` stopped it: the system failed the check.
            Stop::Aborted(r) if self.status_checks.aborted_run(r) => RunState::Failed,
            Stop::Aborted(_) => RunState::Aborted,
            Stop::Error(_) => RunState::Error,
        };
        let reason = stop.reason();
        let nothing_injected = matches!(
            *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            RunState::Pending | RunState::CheckingBefore
        );
        if !nothing_injected {
            let _ = self.enter_recovering(&reason);
            if let Err(failed) = self.recover_all().await {
                return (
                    RunState::Error,
                    format!("{reason}; and recovery failed: {}", failed.reason()),
                );
            }
            if verdict != RunState::Error {
                return (verdict, self.check_after_abort(reason).await);
            }
        }
        (verdict, reason)
    }
}
