//! Every notable thing the agent does, in one place: each event's `emit` writes the log
//! line and bumps the metric, so neither is scattered through the agent's logic.

use std::time::Duration;

use faultline_exporter::{AgentMetrics, AgentOp, RecoveryReason};

use crate::faults::{FaultId, FaultRecord, Recovered};
use faultline_spec::NodeFault;

use crate::error::error_chain;

/// A fault was applied to one target.
pub(super) struct FaultApplied<'a> {
    pub rec: &'a FaultRecord,
    pub took: Duration,
}

impl FaultApplied<'_> {
    pub fn emit(self, m: &AgentMetrics) {
        let kind = self.rec.kind.name();
        tracing::info!(id = %self.rec.id, kind, target = %self.rec.target, lease_until = %self.rec.lease_until,
            took_ms = self.took.as_secs_f64() * 1e3, "fault applied");
        m.applied(kind, self.took.as_secs_f64());
    }
}

/// An operation on a fault failed.
pub(super) struct FaultOpFailed<'a> {
    pub id: &'a FaultId,
    pub kind: &'a NodeFault,
    pub op: AgentOp,
    pub error: &'a (dyn std::error::Error + 'static),
}

impl FaultOpFailed<'_> {
    pub fn emit(self, m: &AgentMetrics) {
        let kind = self.kind.name();
        tracing::warn!(id = %self.id, kind, op = self.op.as_str(), error = %error_chain(self.error), "fault operation failed");
        m.error(kind, self.op);
    }
}

/// A fault was recovered (or found gone).
pub(super) struct FaultRecovered<'a> {
    pub rec: &'a FaultRecord,
    pub reason: RecoveryReason,
    pub outcome: &'a Recovered,
    pub took: Duration,
}

impl FaultRecovered<'_> {
    pub fn emit(self, m: &AgentMetrics) {
        let kind = self.rec.kind.name();
        let note = match self.outcome {
            Recovered::Removed => "removed".to_string(),
            Recovered::AlreadyGone => "already gone".to_string(),
            Recovered::TargetGone(why) => format!("target gone: {why}"),
        };
        tracing::info!(id = %self.rec.id, kind, reason = self.reason.as_str(), outcome = %note,
            took_ms = self.took.as_secs_f64() * 1e3, "fault recovered");
        m.recovered(kind, self.reason, self.took.as_secs_f64());
    }
}

/// A lease lapsed without renewal; the agent recovers the fault by itself.
pub(super) struct LeaseLapsed<'a> {
    pub rec: &'a FaultRecord,
}

impl LeaseLapsed<'_> {
    pub fn emit(self, m: &AgentMetrics) {
        let kind = self.rec.kind.name();
        tracing::warn!(id = %self.rec.id, kind, lease_until = %self.rec.lease_until,
            "lease lapsed without renewal, recovering");
        m.lease_lapsed(kind);
    }
}

/// The service renewed the leases of `records` (one call, one fault id).
pub(super) struct LeaseRenewed<'a> {
    pub id: &'a FaultId,
    pub records: usize,
    pub until: chrono::DateTime<chrono::Utc>,
}

impl LeaseRenewed<'_> {
    pub fn emit(self, m: &AgentMetrics) {
        tracing::debug!(id = %self.id, records = self.records, lease_until = %self.until,
            "lease renewed");
        m.lease_renewed(self.records);
    }
}

/// The number of active faults changed; sets the gauge for every agent-run kind so a kind
/// that drops to zero reads 0 rather than keeping its last value.
pub(super) struct ActiveChanged<'a> {
    pub active: &'a [&'a NodeFault],
}

impl ActiveChanged<'_> {
    pub fn emit(self, m: &AgentMetrics) {
        for name in NodeFault::ALL_NAMES {
            let n = self.active.iter().filter(|k| k.name() == name).count();
            m.set_active(name, n);
        }
    }
}
