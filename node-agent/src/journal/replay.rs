//! Reading the journal back: replaying its lines in order gives the records still applied.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::error::{JournalError, io};
use super::format::{Active, Entry, decode};
use crate::faults::FaultId;

/// Reads the journal; returns the active records and how many lines were unreadable.
pub(super) fn replay(path: &Path) -> Result<(BTreeMap<FaultId, Active>, usize), JournalError> {
    let mut active = BTreeMap::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((active, 0)),
        Err(source) => {
            return Err(JournalError::Io {
                action: "open",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut corrupt = 0;
    // Lines are read as bytes: a torn write may have cut a UTF-8 sequence.
    for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(io("read", path))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match decode(&line) {
            Ok(Entry::Applying { group, record }) => {
                active.insert(
                    record.id.clone(),
                    Active {
                        group,
                        record: *record,
                    },
                );
            }
            Ok(Entry::Recovered { id }) => {
                active.remove(&id);
            }
            Ok(Entry::Renewed { id, lease_until }) => {
                if let Some(a) = active.get_mut(&id) {
                    a.record.lease_until = lease_until;
                }
            }
            Err(e) => {
                corrupt += 1;
                tracing::warn!(path = %path.display(), line = n + 1, error = %e, "skipping unreadable journal line");
            }
        }
    }
    Ok((active, corrupt))
}
