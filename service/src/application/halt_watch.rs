//! The emergency stop seen by every replica. The stop is one stored row: every replica
//! reads it before it starts a run, so new runs are refused everywhere at once. A run
//! already live on another replica than the one the operator called is aborted here:
//! each replica reads the row every `every` (1 s) and aborts its own live runs while the
//! stop is engaged, as the replica that was called did at once.

use std::sync::Arc;
use std::time::Duration;

use super::live::LiveRuns;
use super::ports::Storage;

/// Watches the stored emergency stop for as long as the runtime runs.
pub fn spawn(
    store: Arc<dyn Storage>,
    live: Arc<LiveRuns>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if live.is_empty() {
                continue;
            }
            match store.halted() {
                Ok(Some(h)) => {
                    let aborted = live.abort_live(&format!("emergency stop: {}", h.reason));
                    tracing::warn!(reason = %h.reason, aborted = aborted.len(), "emergency stop engaged on another replica; aborted the runs live here");
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the emergency stop"),
            }
        }
    })
}
