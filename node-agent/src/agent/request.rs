//! Checks on an apply request that need no kernel state: the 400s.

use chrono::Utc;

use super::error::AgentError;
use crate::faults::{Family, FaultId};
use crate::protocol::{ApplyRequest, MAX_LEASE_SECONDS};

/// The family that runs `req.kind`, once the request is known to be well-formed.
pub(super) fn validate(req: &ApplyRequest) -> Result<Family, AgentError> {
    let invalid = |field: &str, reason: String| AgentError::Invalid {
        field: field.into(),
        reason,
    };
    if req.targets.is_empty() {
        return Err(invalid("targets", "at least one target is needed".into()));
    }
    record_id(&req.id, req.targets.len() - 1)?;
    // Pod kinds are not in the agent's vocabulary: the body's decoding refuses them.
    Ok(Family::of(&req.kind))
}

pub(super) fn lease_until(secs: u64) -> Result<chrono::DateTime<Utc>, AgentError> {
    if secs == 0 || secs > MAX_LEASE_SECONDS {
        return Err(AgentError::Invalid {
            field: "leaseSeconds".into(),
            reason: format!("{secs} is outside 1..={MAX_LEASE_SECONDS}"),
        });
    }
    // In range, so the cast and the addition cannot overflow.
    Ok(Utc::now() + chrono::Duration::seconds(secs as i64))
}

/// `<id>-<index>`: the record id of the request's `index`-th target.
pub(super) fn record_id(id: &FaultId, index: usize) -> Result<FaultId, AgentError> {
    FaultId::new(format!("{id}-{index}")).map_err(|reason| AgentError::Invalid {
        field: "id".into(),
        reason: format!("record ids are `<id>-<target index>`, and {reason}"),
    })
}
