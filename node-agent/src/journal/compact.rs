//! Compaction: rewrite the journal with only the active records, atomically.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::error::{JournalError, io};
use super::format::{Active, Entry, JOURNAL_FILE, encode};
use crate::faults::FaultId;

/// Writes the active records to a temp file, fsyncs it, renames it over the journal and
/// fsyncs the dir, then returns the journal opened for appending.
pub(super) fn write_compacted(
    dir: &Path,
    path: &Path,
    active: &BTreeMap<FaultId, Active>,
) -> Result<File, JournalError> {
    let tmp = dir.join(format!("{JOURNAL_FILE}.tmp"));
    let mut out = String::new();
    for a in active.values() {
        out.push_str(&encode(&Entry::Applying {
            group: a.group.clone(),
            record: Box::new(a.record.clone()),
        })?);
        out.push('\n');
    }
    {
        let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(out.as_bytes()).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io("rename compacted journal to", path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync", dir))?;
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io("open for append", path))
}
