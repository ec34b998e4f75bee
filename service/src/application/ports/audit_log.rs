//! The audit log's port: append a record, read records back newest first. Nothing else:
//! no update, no delete, so no caller can change what was recorded. Kept to plain
//! equality filters and an id cursor so any SQL store implements it in a few lines.

use chrono::{DateTime, Utc};

use super::store_error::StoreError;
use crate::domain::{AuditAction, AuditOutcome, AuditRecord, NewAudit};

/// Which records to read: every given filter must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The actor's name.
    pub actor: Option<String>,
    /// The action.
    pub action: Option<AuditAction>,
    /// The object (a run id, an experiment name, ...).
    pub object: Option<String>,
    /// The outcome.
    pub outcome: Option<AuditOutcome>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Only records older than this id (the previous page's last).
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// Where audit records are kept.
pub trait AuditLog: Send + Sync {
    /// Appends `record`, stamped now; returns it as stored.
    fn append_audit(&self, record: &NewAudit) -> Result<AuditRecord, StoreError>;

    /// The records `query` selects, newest first.
    fn find_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Where stored records are copied to as well (the JSON-lines file), after the insert.
pub trait AuditShipper: Send + Sync {
    /// Ships one stored record; a failure is the shipper's to report.
    fn ship(&self, record: &AuditRecord);
}
