//! The runner and the state machine it drives: every transition and every event is
//! persisted through the run store before the observers hear of it and before the next
//! step. The steps themselves (checks, faults, the cluster, safety levers) are `impl
//! Runner` blocks in their own files; `drive.rs` puts them in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use faultline_agent::faults::FaultId;
use faultline_spec::Experiment;
use tokio::sync::watch;

use super::executor::AnyExecutor;
use super::options::{AbortHandle, RunOptions};
use super::samples::Samples;
use super::status_verdicts::StatusVerdicts;
use super::stop::{RunError, Stop};
use crate::application::engine::inject::Injector;
use crate::application::ports::observe::{FnObserver, RunInfo};
use crate::application::ports::run_store::RunStore;
use crate::domain::{GitlabContext, RunEvent, RunState};

/// A fault this run has started and not yet recovered.
#[derive(Clone)]
pub(super) struct Active {
    pub(super) id: FaultId,
    pub(super) step: String,
    /// Who carries it out, so it is renewed and recovered the way it was applied.
    pub(super) exec: AnyExecutor,
}

/// One run of one experiment.
pub struct Runner {
    pub(super) store: Arc<dyn RunStore>,
    pub(super) injector: Injector,
    pub(super) opts: RunOptions,
    pub(super) run: String,
    pub(super) exp: Experiment,
    pub(super) state: Mutex<RunState>,
    pub(super) active: Arc<Mutex<Vec<Active>>>,
    pub(super) next_fault: Mutex<u32>,
    pub(super) abort_tx: Arc<watch::Sender<Option<String>>>,
    pub(super) info: RunInfo,
    /// Raw samples of checks with `compare:`, for their statistical verdict.
    pub(super) samples: Samples,
    /// The results of `check:` steps that the verdict needs.
    pub(super) status_checks: StatusVerdicts,
    /// Who asked for the run (the preflight veto is told), and where its answer is
    /// audited (`preflight.rs`).
    pub(super) trigger: crate::domain::Actor,
    pub(super) audit: Option<Arc<crate::application::audit::Auditor>>,
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
        let info = RunInfo {
            id: run.clone(),
            experiment: exp.metadata.name.clone(),
            gitlab: None,
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
            samples: Samples::default(),
            status_checks: StatusVerdicts::default(),
            trigger: crate::domain::Actor::system("unattributed"),
            audit: None,
        }
    }

    /// The GitLab event that triggered the run, named to the observers (annotations,
    /// notifications): the commit and pipeline of a GitLab-triggered run. The caller has
    /// it from creating the run, so the run is not read back for it.
    pub fn gitlab(mut self, gitlab: Option<GitlabContext>) -> Runner {
        self.info.gitlab = gitlab;
        self
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

    pub(super) async fn wait(&self, d: Duration) -> Result<(), Stop> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            r = self.abort_signal() => Err(Stop::Aborted(r)),
        }
    }

    /// Resolves when the run is aborted, with the reason.
    pub(super) async fn abort_signal(&self) -> String {
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

    pub(super) fn aborted(&self) -> Option<String> {
        self.abort_tx.borrow().clone()
    }

    pub(super) fn enter_observing(&self, why: &str) -> Result<(), Stop> {
        let cur = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        if cur == RunState::Injecting {
            self.go(RunState::Observing, why)
        } else {
            Ok(())
        }
    }

    pub(super) fn enter_recovering(&self, why: &str) -> Result<(), Stop> {
        let cur = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        if cur == RunState::Recovering {
            Ok(())
        } else {
            self.go(RunState::Recovering, why)
        }
    }

    pub(super) fn go(&self, to: RunState, reason: &str) -> Result<(), Stop> {
        self.record(RunEvent::StateChanged {
            to,
            reason: reason.to_string(),
        })?;
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = to;
        Ok(())
    }

    /// Opens the span of fault request `id` before it is applied; its trace context.
    pub(super) fn trace_starting(&self, id: &FaultId) -> Option<faultline_exporter::TraceParent> {
        let t = self.opts.fault_traces.as_ref()?;
        t.fault_starting(&self.info, id.as_str())
    }

    /// The trace context of fault request `id` (renewals, recovery).
    pub(super) fn trace_of(&self, id: &FaultId) -> Option<faultline_exporter::TraceParent> {
        let t = self.opts.fault_traces.as_ref()?;
        t.fault_context(&self.info, id.as_str())
    }

    pub(super) fn record(&self, ev: RunEvent) -> Result<(), Stop> {
        self.record_all(vec![ev])
    }

    /// Persists `evs` in one transaction, then tells the observers of each in order: the
    /// events of a step over many targets cost one commit, not one each.
    pub(super) fn record_all(&self, evs: Vec<RunEvent>) -> Result<(), Stop> {
        if evs.is_empty() {
            return Ok(());
        }
        self.store
            .record_all(&self.run, &evs)
            .map_err(|e| Stop::error(RunError::Record(e)))?;
        for ev in &evs {
            self.opts.observers.notify(&self.info, ev);
        }
        Ok(())
    }
}
