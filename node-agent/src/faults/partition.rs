//! networkPartition: an nftables table of drop rules in the target's netns.
//!
//! Placeholder until its executor lands: every call fails cleanly, nothing is changed.

use super::{Fault, FaultRecord, Recovered};
use crate::error::FaultError;

/// The partition fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Partition;

impl Fault for Partition {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        Err(FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason: "not built yet".into(),
        })
    }

    async fn recover(&self, _rec: &FaultRecord) -> Result<Recovered, FaultError> {
        Ok(Recovered::AlreadyGone)
    }
}
