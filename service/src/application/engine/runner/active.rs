//! The run's active faults: each one registered — in memory and in the store — before it
//! is applied, its lease renewed every third of the lease while the run lives, forgotten
//! once recovered; and the final sweep, which recovers whatever is still registered.

use chrono::Utc;
use faultline_agent::agent::error_chain;
use faultline_agent::faults::FaultId;

use super::executor::Executor;
use super::lifecycle::Planned;
use super::machine::{Active, Runner};
use super::stop::{RunError, Stop};
use crate::domain::ActiveFault;

impl Runner {
    /// Records `p` as active, in the store first: if the run stops while the apply is in
    /// flight, or the process dies, it is still recovered by id.
    pub(super) fn register(&self, p: &Planned, step: &str, kind: &str) -> Result<(), Stop> {
        let lease = p.exec.lease(self.opts.lease);
        let fault = ActiveFault {
            fault: p.id.to_string(),
            step: step.to_string(),
            kind: kind.to_string(),
            executor: p.exec.reference(),
            targets: p.targets.clone(),
            expires: Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default(),
        };
        self.store
            .fault_started(&self.run, &fault)
            .map_err(|e| Stop::error(RunError::Record(e)))?;
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Active {
                id: p.id.clone(),
                step: step.to_string(),
                exec: p.exec.clone(),
            });
        Ok(())
    }

    /// Forgets fault `id`: recovered (its events are recorded) or finished at once.
    pub(super) fn forget(&self, id: &FaultId) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|a| &a.id != id);
        if let Err(e) = self.store.fault_ended(&self.run, id.as_str()) {
            // Left in the store, it is confirmed recovered again on the next start-up.
            tracing::warn!(run = %self.run, fault = %id, error = %error_chain(&e), "could not forget a recovered fault");
        }
    }

    /// Renews every active fault's lease every third of the lease, and keeps the store's
    /// expiry in step.
    pub(super) fn spawn_renewer(&self) -> tokio::task::JoinHandle<()> {
        let lease = self.opts.lease;
        let active = self.active.clone();
        let traces = self.opts.fault_traces.clone();
        let info = self.info.clone();
        let store = self.store.clone();
        let run = self.run.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let now: Vec<Active> = active.lock().unwrap_or_else(|p| p.into_inner()).clone();
                for a in now {
                    let parent = traces
                        .as_ref()
                        .and_then(|t| t.fault_context(&info, a.id.as_str()));
                    match a.exec.renew(&a.id, lease, parent.as_ref()).await {
                        Ok(Some(expires)) => {
                            if let Err(e) = store.fault_renewed(&run, a.id.as_str(), expires) {
                                tracing::warn!(fault = %a.id, error = %error_chain(&e), "could not store a renewed lease");
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(fault = %a.id, error = %error_chain(&e), "lease renewal failed; the fault is recovered when the lease lapses");
                        }
                    }
                }
            }
        })
    }

    /// Last line of defence: anything still registered is recovered again (idempotent).
    /// What cannot be stays in the store, for the next start-up to confirm.
    pub(super) async fn sweep(&self) {
        let left: Vec<Active> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for a in left {
            let parent = self.trace_of(&a.id);
            match a.exec.recover(&a.id, parent.as_ref()).await {
                Ok(_) => self.forget(&a.id),
                Err(e) => {
                    tracing::error!(run = %self.run, fault = %a.id, step = %a.step, error = %error_chain(&e), "fault could not be recovered; its lease will lapse");
                }
            }
        }
    }
}
