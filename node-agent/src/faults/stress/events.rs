//! What happens to stress workers after apply, for the agent core to forward (log line,
//! metric, run event). Delivered on a broadcast channel: [`subscribe`] once at start-up
//! and read forever; events sent while nobody listens are dropped, and a receiver that
//! lags more than [`CAPACITY`] events behind loses the oldest (`RecvError::Lagged`).
//!
//! A worker killed by recovery is expected and makes no event.

use std::sync::LazyLock;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::faults::record::FaultId;

/// Events kept for a slow receiver.
pub const CAPACITY: usize = 256;

/// Something that happened to a stress worker that nobody asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "event")]
pub enum StressEvent {
    /// The target cgroup's memory limit OOM-killed a worker: the fault reached the limit.
    /// The fault stays applied (the other workers keep running) until recovered.
    OomKilled {
        /// The fault the worker belonged to.
        fault: FaultId,
        /// The worker's PID.
        pid: u32,
        /// The memory cgroup whose OOM counter rose.
        cgroup: String,
    },
    /// A worker ended for another reason (killed by someone else, crashed).
    WorkerExited {
        /// The fault the worker belonged to.
        fault: FaultId,
        /// The worker's PID.
        pid: u32,
        /// Its exit status, as `exit status: 3` or `signal: 9 (SIGKILL)`.
        status: String,
    },
}

static EVENTS: LazyLock<broadcast::Sender<StressEvent>> =
    LazyLock::new(|| broadcast::channel(CAPACITY).0);

/// A receiver of every [`StressEvent`] from now on.
pub fn subscribe() -> broadcast::Receiver<StressEvent> {
    EVENTS.subscribe()
}

/// Logs and broadcasts `ev`.
pub(super) fn emit(ev: StressEvent) {
    tracing::warn!(event = ?ev, "stress worker ended");
    // No receiver is fine: the log line above is the record.
    let _ = EVENTS.send(ev);
}
