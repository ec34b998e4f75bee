//! Recording what was done: [`Auditor::record`] appends to the store's audit log first,
//! then hands the stored record to the shipper (the JSON-lines file), so a shipped line
//! always has a stored record behind it.

use std::sync::{Arc, OnceLock};

use crate::application::ports::{AuditLog, AuditShipper};
use crate::domain::{AuditRecord, NewAudit};

/// Appends audit records and ships them.
pub struct Auditor {
    log: Arc<dyn AuditLog>,
    shipper: OnceLock<Arc<dyn AuditShipper>>,
}

impl Auditor {
    /// Records into `log`, shipping nowhere until [`Auditor::ship_to`].
    pub fn new(log: Arc<dyn AuditLog>) -> Auditor {
        Auditor {
            log,
            shipper: OnceLock::new(),
        }
    }

    /// Ships every record from now on to `shipper` (once; later calls are ignored).
    pub fn ship_to(&self, shipper: Arc<dyn AuditShipper>) {
        let _ = self.shipper.set(shipper);
    }

    /// Appends `rec` and ships it. The action it describes has happened (or been refused)
    /// already, so a store failure does not undo it: it is logged as an error, with the
    /// record, for the operator to find.
    pub fn record(&self, rec: NewAudit) -> Option<AuditRecord> {
        match self.log.append_audit(&rec) {
            Ok(stored) => {
                if let Some(s) = self.shipper.get() {
                    s.ship(&stored);
                }
                Some(stored)
            }
            Err(e) => {
                tracing::error!(
                    error = %faultline_agent::agent::error_chain(&e),
                    actor = %rec.actor,
                    action = %rec.action,
                    object = %rec.object,
                    outcome = %rec.outcome,
                    reason = %rec.reason,
                    "failed to append an audit record"
                );
                None
            }
        }
    }
}
