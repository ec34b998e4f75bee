//! The runner's faults: steps walked in order (serial, parallel, suspend), each fault applied
//! through the injector with a lease renewed while it is active, and recovered — by its
//! step, by an abort, or by the final sweep.

use faultline_agent::agent::error_chain;
use faultline_agent::faults::FaultId;
use faultline_agent::protocol::ApplyRequest;
use faultline_spec::{FaultStep, Step, Target};
use futures::future::{BoxFuture, join_all};

use super::machine::{Active, Runner};
use super::place::Place;
use super::stop::{RunError, Stop};
use crate::application::engine::plan::label as step_label;
use crate::domain::RunEvent;

impl Runner {
    /// Renews every active fault's lease every third of the lease.
    pub(super) fn spawn_renewer(&self) -> tokio::task::JoinHandle<()> {
        let injector = self.injector.clone();
        let cluster = self.opts.cluster.clone();
        let lease = self.opts.lease;
        let active = self.active.clone();
        let traces = self.opts.fault_traces.clone();
        let info = self.info.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let now: Vec<Active> = active.lock().unwrap_or_else(|p| p.into_inner()).clone();
                for a in now {
                    let parent = traces
                        .as_ref()
                        .and_then(|t| t.fault_context(&info, a.id.as_str()));
                    match a
                        .place
                        .renew(&a.id, &injector, cluster.as_deref(), lease, parent.as_ref())
                        .await
                    {
                        Ok(Some(place)) => {
                            let mut active = active.lock().unwrap_or_else(|p| p.into_inner());
                            if let Some(cur) = active.iter_mut().find(|c| c.id == a.id) {
                                cur.place = place;
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

    pub(super) fn exec_step<'s>(
        &'s self,
        step: &'s Step,
        label: String,
    ) -> BoxFuture<'s, Result<(), Stop>> {
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

    pub(super) async fn exec_fault(&self, f: &FaultStep, label: String) -> Result<(), Stop> {
        if let Some(r) = self.aborted() {
            return Err(Stop::Aborted(r));
        }
        let target = f.target.as_ref().or(self.exp.spec.target.as_ref());
        let local = match target {
            Some(Target::Local(t)) => t.clone(),
            Some(Target::Kubernetes(sel)) => return self.exec_pod_fault(f, sel, label).await,
            None => {
                return Err(Stop::error(RunError::NoTarget { step: label }));
            }
        };
        if super::cluster::has_peer_selector(&f.fault) {
            // The agent only knows addresses: unresolved, a partition would cut everything.
            return Err(Stop::error(RunError::PeerSelectorOutsideCluster {
                step: label,
            }));
        }
        let Some(kind) = f.fault.to_node() else {
            return Err(Stop::error(RunError::NeedsKubernetesTarget {
                step: label,
                kind: f.fault.name(),
            }));
        };
        let id = self.next_fault_id();
        let req = ApplyRequest {
            id: id.clone(),
            kind,
            targets: vec![local],
            lease_seconds: self.opts.lease.as_secs().max(1),
        };
        // Registered before the call: if the run stops while the apply is in flight, the
        // sweep still recovers it by id.
        self.register(id.clone(), &label, Place::Injector);
        let parent = self.trace_starting(&id);
        let records = match self.injector.apply(req, parent.as_ref()).await {
            Ok(r) => r,
            Err(e) => {
                self.forget(&id);
                return Err(Stop::error(RunError::Apply {
                    step: label,
                    source: e,
                }));
            }
        };
        self.record_all(
            records
                .iter()
                .map(|r| RunEvent::FaultApplied {
                    fault: r.id.to_string(),
                    kind: f.fault.name().into(),
                    target: r.target.to_string(),
                    step: label.clone(),
                    agent: self.injector.agent(),
                    node: None,
                })
                .collect(),
        )?;
        self.enter_observing(&label)?;
        if f.fault.is_instant() {
            // The agent applies a kill once and journals it recovered at once.
            self.forget(&id);
            return self.record_all(
                records
                    .iter()
                    .map(|r| RunEvent::FaultRecovered {
                        fault: r.id.to_string(),
                        outcome: "instant".into(),
                    })
                    .collect(),
            );
        }
        self.wait(f.duration.map(|d| d.std()).unwrap_or_default())
            .await?;
        self.recover_one(&id).await
    }

    pub(super) async fn recover_one(&self, id: &FaultId) -> Result<(), Stop> {
        let place = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|a| &a.id == id)
            .map(|a| a.place.clone())
            .unwrap_or(Place::Injector);
        let parent = self.trace_of(id);
        match place
            .recover(
                id,
                &self.injector,
                self.opts.cluster.as_deref(),
                parent.as_ref(),
            )
            .await
        {
            Ok(recovered) => {
                self.forget(id);
                self.record_all(
                    recovered
                        .into_iter()
                        .map(|(fault, outcome)| RunEvent::FaultRecovered { fault, outcome })
                        .collect(),
                )
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
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Recovers every one of `ids` at once: a cluster step's requests, one per node agent
    /// (one after another, 10 agents of 1,000 pods each took seconds). Every one is tried;
    /// the first error is returned.
    pub(super) async fn recover_each(&self, ids: &[FaultId]) -> Result<(), Stop> {
        let results = futures::future::join_all(ids.iter().map(|id| self.recover_one(id))).await;
        results
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), Err)
    }

    /// Last line of defence: anything still registered is recovered again (idempotent).
    pub(super) async fn sweep(&self) {
        let left: Vec<Active> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for a in left {
            let parent = self.trace_of(&a.id);
            if let Err(e) = a
                .place
                .recover(
                    &a.id,
                    &self.injector,
                    self.opts.cluster.as_deref(),
                    parent.as_ref(),
                )
                .await
            {
                tracing::error!(run = %self.run, fault = %a.id, step = %a.step, error = %error_chain(&e), "fault could not be recovered; its lease will lapse");
            }
        }
    }

    pub(super) fn forget(&self, id: &FaultId) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|a| &a.id != id);
    }

    pub(super) fn next_fault_id(&self) -> FaultId {
        let mut n = self.next_fault.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        FaultId::new(format!("{}-f{}", short(&self.run), *n))
            .expect("run ids are short and alphanumeric")
    }
}

/// The first 12 characters of a run id, used as the prefix of its fault ids.
pub(super) fn short(run: &str) -> String {
    run.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect()
}
