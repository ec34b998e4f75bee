//! A run's end written even when the store failed at the moment the engine wrote it.
//!
//! The engine records every transition before its next step; when the store cannot be
//! reached (PostgreSQL restarting, a network cut), that write fails, the engine stops the
//! run and recovers its faults on the way out, but the stored run still says it is live.
//! Left so, it would look live for ever: its replica's heartbeat keeps the lease, so no
//! other replica adopts it either. So once the engine is done, the run's stored state is
//! checked and, if it is not terminal, the run is ended `error` with the reason, retried
//! until the store answers (or another replica has taken the run over meanwhile).

use std::time::Duration;

use crate::application::ports::{Storage, StoreError};
use crate::domain::{RunEvent, RunState};

/// The reason a run ends with when the store missed its end.
pub const STORE_FAILED: &str = "store unreachable: the run could not record its progress (the database failed mid-run); its faults were recovered as it stopped";

/// How long to keep trying: a database restart or fail-over takes seconds to a minute.
const SETTLE_FOR: Duration = Duration::from_secs(300);
/// The pause between two tries.
const SETTLE_EVERY: Duration = Duration::from_secs(1);

/// Ends run `run` `error` ([`STORE_FAILED`]) if the store does not hold it as ended.
pub async fn settle(store: &dyn Storage, run: &str) {
    let tries = SETTLE_FOR.as_secs() / SETTLE_EVERY.as_secs();
    for _ in 0..tries {
        let ended = store.run(run).map(|r| r.state.is_terminal());
        let result = match ended {
            Ok(true) => return,
            Ok(false) => store
                .record(
                    run,
                    &RunEvent::StateChanged {
                        to: RunState::Error,
                        reason: STORE_FAILED.to_string(),
                    },
                )
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                tracing::warn!(%run, "the store missed the run's end; ended it error");
                return;
            }
            // Another replica adopted it (our lease lapsed while the store was away), or it
            // ended meanwhile: not ours to end.
            Err(StoreError::LeaseLost { .. } | StoreError::IllegalTransition { .. }) => return,
            Err(e) => {
                tracing::warn!(%run, error = %e, "cannot record the run's end yet; retrying");
            }
        }
        tokio::time::sleep(SETTLE_EVERY).await;
    }
    tracing::error!(%run, "gave up recording the run's end: the store stayed unreachable");
}
