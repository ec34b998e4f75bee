//! What passes between an `Agent` handle and the agent thread: the commands, their
//! replies, and the start-up report the thread sends once it is ready.

use chrono::{DateTime, Utc};
use faultline_exporter::RecoveryReason;
use tokio::sync::oneshot;

use super::error::AgentError;
use crate::faults::{FaultId, FaultRecord};
use crate::protocol::{ApplyRequest, ObservedFault, RecoveredFault};

/// What the start-up recovery did.
#[derive(Debug, Clone, Default)]
pub struct StartupReport {
    /// Records the journal held that were recovered.
    pub recovered: Vec<RecoveredFault>,
    /// Records that could not be recovered yet, with why; the agent keeps retrying them.
    pub failed: Vec<(FaultId, String)>,
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, AgentError>>;

/// A call to the agent thread.
pub(super) enum Command {
    Apply(Box<ApplyRequest>, Reply<Vec<FaultRecord>>),
    Recover(FaultId, Reply<Vec<RecoveredFault>>),
    Renew(FaultId, u64, Reply<(Vec<FaultId>, DateTime<Utc>)>),
    List(Reply<Vec<FaultRecord>>),
    Observe(FaultId, Reply<Vec<ObservedFault>>),
    RecoverAll(RecoveryReason, Reply<Vec<RecoveredFault>>),
    Shutdown(Reply<Vec<RecoveredFault>>),
}
