//! The audit log's record: who did what to which object, when, and how it ended. Records
//! are only ever appended (the store refuses updates and deletes).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;

macro_rules! words {
    ($(#[doc = $tdoc:literal])* $name:ident { $($(#[doc = $doc:literal])* $v:ident = $s:literal,)* }) => {
        $(#[doc = $tdoc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $($(#[doc = $doc])* #[serde(rename = $s)] $v,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[$name] = &[$($name::$v),*];

            /// The word stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }

            /// Parses what [`Self::as_str`] writes.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// What was done (or tried).
    AuditAction {
        /// A run was asked for (API, webhook, schedule); the object is the experiment.
        RunStart = "run.start",
        /// A run was aborted (an operator, a change window closing); object: the run id.
        RunAbort = "run.abort",
        /// The preflight veto answered for a run; object: the run id.
        RunVeto = "run.veto",
        /// The emergency stop was engaged.
        EmergencyStop = "emergency-stop.engage",
        /// The emergency stop was released (resume).
        EmergencyResume = "emergency-stop.release",
        /// An experiment was added to or changed in the catalog; object: its name.
        ExperimentPut = "experiment.put",
        /// An experiment was deleted from the catalog; object: its name.
        ExperimentDelete = "experiment.delete",
        /// A config or policy was loaded (start-up, reload); object: what was loaded.
        ConfigLoad = "config.load",
        /// A request was refused for its credentials (401) or role (403); object: the
        /// method and path.
        Access = "api.access",
    }
}

words! {
    /// How it ended.
    AuditOutcome {
        /// Done.
        Ok = "ok",
        /// Refused: credentials, role, the emergency stop, a change window, the veto,
        /// the guard.
        Refused = "refused",
        /// Tried and failed (a store or peer error).
        Failed = "failed",
    }
}

/// A record about to be appended (the store gives it its id and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: AuditAction,
    /// To what: a run id, an experiment name, `POST /api/v1/runs`, a config file.
    pub object: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why, for refusals and failures; details for the rest (may be empty).
    pub reason: String,
}

impl NewAudit {
    /// A record of `action` on `object` by `actor` that went through.
    pub fn ok(actor: Actor, action: AuditAction, object: impl Into<String>) -> NewAudit {
        NewAudit {
            actor,
            action,
            object: object.into(),
            outcome: AuditOutcome::Ok,
            reason: String::new(),
        }
    }

    /// The same record with `outcome` and `reason`.
    pub fn ended(mut self, outcome: AuditOutcome, reason: impl Into<String>) -> NewAudit {
        self.outcome = outcome;
        self.reason = reason.into();
        self
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Its place in the log: increasing, never reused.
    pub id: i64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: AuditAction,
    /// To what.
    pub object: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why (may be empty).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_as_stored_and_as_json() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for o in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(AuditAction::parse("run.delete"), None);
    }
}
