//! The journal's unit: one applied (or about to be applied) fault on one target, with
//! what was resolved about the target at apply time ([`Resolved`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::FaultIdError;
use crate::target::{Prior, Resolved};
use faultline_spec::{LocalTarget, NodeFault};

/// Identifies one fault on one target; unique per agent. The service builds it as
/// `<run>-<step>-<target>`; it names kernel objects (nft table `faultline_<id>`), so it is
/// restricted to `[A-Za-z0-9_-]`, at most 48 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(String);

impl FaultId {
    /// Checks the charset and length.
    pub fn new(s: impl Into<String>) -> Result<Self, FaultIdError> {
        let s = s.into();
        if s.is_empty() || s.len() > 48 {
            return Err(FaultIdError::Length { id: s });
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FaultIdError::Charset { id: s });
        }
        Ok(FaultId(s))
    }

    /// A fresh random id.
    pub fn random() -> Self {
        FaultId(uuid::Uuid::new_v4().simple().to_string()[..16].to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The journal's record of one fault on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRecord {
    /// Unique id on this agent.
    pub id: FaultId,
    /// The fault and its parameters.
    pub kind: NodeFault,
    /// The target as asked for.
    pub target: LocalTarget,
    /// The target as found.
    pub resolved: Resolved,
    /// The agent recovers the fault by itself at this instant unless renewed.
    pub lease_until: DateTime<Utc>,
    /// What the fault found before it changed anything (a disk fill's file, a throttle's
    /// previous limits); `None` for kinds that need nothing of it to recover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Prior>,
}

impl FaultRecord {
    /// This family cannot carry out this record, and why.
    pub fn unsupported(&self, reason: impl Into<String>) -> crate::error::FaultError {
        crate::error::FaultError::Unsupported {
            kind: self.kind.name(),
            target: self.target.to_string(),
            reason: reason.into(),
        }
    }
}

/// How a recovery went, for events and the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Recovered {
    /// What was applied was found and removed.
    Removed,
    /// Nothing of it was left (already recovered, or never fully applied).
    AlreadyGone,
    /// The target no longer exists; its fault went with it.
    TargetGone(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_ids_are_checked_for_length_and_charset() {
        assert_eq!(FaultId::new("run1-f2_x").unwrap().as_str(), "run1-f2_x");
        assert!(matches!(FaultId::new(""), Err(FaultIdError::Length { .. })));
        let e = FaultId::new("a".repeat(49)).unwrap_err();
        assert!(matches!(e, FaultIdError::Length { .. }), "{e}");
        assert!(e.to_string().ends_with("must be 1 to 48 characters"), "{e}");
        let e = FaultId::new("a b").unwrap_err();
        assert_eq!(
            e.to_string(),
            "fault id `a b` may only hold A-Z, a-z, 0-9, `-` and `_`"
        );
        assert_eq!(FaultId::random().as_str().len(), 16);
    }
}
