//! Aborts asked of another replica. The API of any replica accepts an abort for any run;
//! when the run is live elsewhere it records the request in the shared store
//! (`RemoteAborts`). Each replica polls for the requests aimed at the runs it drives and
//! aborts them here, exactly as the replica that was asked would have: the run recovers
//! its faults and ends `aborted` with the caller's reason. A note on the run says who
//! asked and through which replica (the audit record is written by the replica asked).

use std::sync::Arc;
use std::time::Duration;

use super::live::LiveRuns;
use super::ports::{AbortRequest, Storage};
use crate::domain::RunEvent;

/// Takes this replica's abort requests every `every`, for as long as the runtime runs.
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
            match store.take_abort_requests() {
                Ok(requests) => {
                    for r in requests {
                        act_on(store.as_ref(), &live, &r);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the abort requests"),
            }
        }
    })
}

/// Aborts the run of request `r` if it is live here.
fn act_on(store: &dyn Storage, live: &LiveRuns, r: &AbortRequest) {
    if !live.is_live(&r.run) {
        // Owned here but no longer driven (ending, or adopted and being ended): its end
        // is already on its way.
        tracing::info!(run = %r.run, actor = %r.actor, "abort request for a run no longer live here; dropped");
        return;
    }
    let note = RunEvent::Note {
        message: format!("abort asked by {} through replica {}", r.actor, r.via),
    };
    if let Err(e) = store.record(&r.run, &note) {
        tracing::warn!(run = %r.run, error = %e, "cannot note who asked to abort the run; aborting it anyway");
    }
    if live.abort(&r.run, &r.reason).is_ok() {
        tracing::warn!(run = %r.run, actor = %r.actor, via = %r.via, reason = %r.reason, "aborting a run on a request made through another replica");
    }
}
