//! Safety levers outside the checks: the error-budget guard before injection and alert
//! rules as stop conditions during it.

use std::time::Duration;

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::domain::RunEvent;

/// How often `spec.abortOnAlerts` is checked while faults are active.
const ALERT_POLL: Duration = Duration::from_millis(500);

impl Runner {
    /// `guard.errorBudget`: the service may only be hurt while it has budget to spare.
    /// Returns why the run is refused, if it is.
    pub(super) async fn error_budget_refusal(&self) -> Result<Option<String>, Stop> {
        let Some(budget) = &self.exp.spec.guard.error_budget else {
            return Ok(None);
        };
        let prom = self
            .opts
            .prometheus
            .as_ref()
            .ok_or_else(|| Stop::error(RunError::ErrorBudgetUnmeasurable))?;
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
    pub(super) fn spawn_alert_watch(&self) -> Option<tokio::task::JoinHandle<()>> {
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
}
