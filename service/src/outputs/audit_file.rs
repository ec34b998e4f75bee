//! Shipping the audit log as JSON lines (`audit: { file: ... }` in serve's config): one
//! line per stored record, appended and flushed as it is recorded, for a log shipper
//! (Vector, Fluent Bit, the SIEM's agent) to tail. The store stays the record of truth: a
//! line that could not be written is logged, and the record is still in the store.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::application::ports::AuditShipper;
use crate::domain::AuditRecord;

/// Appends each record to a file as one JSON line.
pub struct AuditFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditFile {
    /// Opens (creating it and its directory if needed) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<AuditFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AuditFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }
}

impl AuditShipper for AuditFile {
    fn ship(&self, record: &AuditRecord) {
        let mut line = serde_json::to_vec(record).expect("an audit record serialises");
        line.push(b'\n');
        // One write of the whole line under the lock: lines never interleave.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line).and_then(|()| file.flush()) {
            tracing::error!(path = %self.path.display(), id = record.id, error = %e, "failed to ship an audit record to its file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, AuditAction, AuditOutcome};

    #[test]
    fn each_record_is_one_json_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let f = AuditFile::open(&path).unwrap();
        for id in [1, 2] {
            f.ship(&AuditRecord {
                id,
                at: chrono::Utc::now(),
                actor: Actor::token("alice"),
                action: AuditAction::RunStart,
                object: "exp\nwith newline".into(),
                outcome: AuditOutcome::Ok,
                reason: String::new(),
            });
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["action"], "run.start");
        assert_eq!(first["actor"]["name"], "alice");
        assert_eq!(first["object"], "exp\nwith newline");
    }
}
