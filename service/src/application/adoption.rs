//! Adopting the runs of a lost replica. With several replicas on one database each run
//! is leased by the replica driving it (`RunLeases`); when that replica dies, hangs or
//! loses the database, its lease lapses and another replica adopts the run here: it
//! confirms every fault the run recorded as active recovered, through the executor that
//! applied it (the same path a restart takes, `runner::confirm_recovered`), then ends the
//! run `error` with [`REPLICA_LOST`].
//!
//! Why end it rather than continue: the run's probes, its compare windows and the
//! in-memory part of its fault timeline died with the replica; continuing would judge a
//! steady state nobody watched across the gap and could pass a run whose fault window
//! was never observed. A truthful `error` with every fault confirmed removed is what an
//! SRE can rely on; the experiment can be started again.

use std::sync::Arc;
use std::time::Duration;

use super::engine::inject::Injector;
use super::engine::runner::{Confirmation, confirm_recovered};
use super::ports::{Observers, PodCluster, RunInfo, Storage, StoreError};
use crate::domain::{RunEvent, RunState};

/// The reason an adopted run ends with.
pub const REPLICA_LOST: &str = "replica lost: the replica driving this run stopped renewing its lease; another replica adopted it and confirmed its faults recovered";

/// What one adoption round did.
#[derive(Debug, Default)]
pub struct Adopted {
    /// The runs taken over (and ended).
    pub runs: Vec<String>,
    /// Each of their active faults, and whether it was confirmed recovered.
    pub faults: Vec<Confirmation>,
}

/// Adopts the runs whose lease lapsed, confirms their faults recovered and ends them;
/// `observers` hear of each end as they would of a run this replica drove (the verdict's
/// notifications and GitLab status go out once: the adopter is the only one to see it).
pub async fn adopt_once(
    store: &dyn Storage,
    injector: &Injector,
    cluster: Option<&Arc<dyn PodCluster>>,
    observers: &Observers,
) -> Result<Adopted, StoreError> {
    let runs = store.adopt_lapsed()?;
    if runs.is_empty() {
        return Ok(Adopted::default());
    }
    let faults = confirm_recovered(store, injector, cluster).await?;
    let runs = store.fail_interrupted(REPLICA_LOST)?;
    let end = RunEvent::StateChanged {
        to: RunState::Error,
        reason: REPLICA_LOST.to_string(),
    };
    for id in &runs {
        match store.run(id) {
            Ok(row) => observers.notify(
                &RunInfo {
                    id: row.id,
                    experiment: row.experiment,
                    gitlab: row.gitlab,
                },
                &end,
            ),
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "adopted run ended; cannot read it to tell observers")
            }
        }
    }
    Ok(Adopted { runs, faults })
}

/// Looks for lapsed runs every `every` for as long as the runtime runs.
pub fn spawn(
    store: Arc<dyn Storage>,
    injector: Injector,
    cluster: Option<Arc<dyn PodCluster>>,
    observers: Observers,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match adopt_once(&*store, &injector, cluster.as_ref(), &observers).await {
                Ok(a) => {
                    for c in &a.faults {
                        tracing::warn!(run = %c.run, fault = %c.fault, executor = %c.executor, recovered = c.outcome.is_recovered(), "adopted a lost replica's fault");
                    }
                    for run in &a.runs {
                        tracing::warn!(run = %run, "adopted a lost replica's run; ended it error (replica lost)");
                    }
                }
                Err(e) => tracing::error!(error = %e, "could not adopt lapsed runs; retrying"),
            }
        }
    })
}
