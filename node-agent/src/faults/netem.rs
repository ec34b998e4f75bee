//! networkDelay / Loss / Duplicate / Corrupt / Reorder: a netem qdisc over netlink in the target's netns.
//!
//! Placeholder until its executor lands: every call fails cleanly, nothing is changed.

use super::{Fault, FaultRecord, Recovered};
use crate::error::FaultError;

/// The netem fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Netem;

impl Fault for Netem {
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
