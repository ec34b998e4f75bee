//! Safety levers outside the checks and the guard: alert rules as stop conditions while
//! faults are active.

use std::time::Duration;

use super::machine::Runner;

/// How often `spec.abortOnAlerts` is checked while faults are active.
const ALERT_POLL: Duration = Duration::from_millis(500);

impl Runner {
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
