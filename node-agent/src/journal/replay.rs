//! Reading the journal back: replaying its lines in order gives the records still applied.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::error::{JournalError, io};
use super::format::{Active, Entry, decode};
use crate::faults::FaultId;

/// What reading the journal back found.
#[derive(Debug, Default)]
pub(super) struct Replayed {
    /// The records still applied.
    pub(super) active: BTreeMap<FaultId, Active>,
    /// Lines that could not be read.
    pub(super) corrupt: usize,
    /// Entries read (blank lines aside).
    pub(super) lines: usize,
    /// The file exists.
    pub(super) found: bool,
    /// The file is empty or missing, or its last byte is a newline: appending to it
    /// starts a line of its own.
    pub(super) ends_a_line: bool,
}

/// Reads the journal back.
pub(super) fn replay(path: &Path) -> Result<Replayed, JournalError> {
    let mut active = BTreeMap::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Replayed {
                ends_a_line: true,
                ..Replayed::default()
            });
        }
        Err(source) => {
            return Err(JournalError::Io {
                action: "open",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let (mut corrupt, mut lines, mut ends_a_line) = (0, 0, true);
    // Lines are read as bytes: a torn write may have cut a UTF-8 sequence.
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    for n in 0.. {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(io("read", path))?
            == 0
        {
            break;
        }
        ends_a_line = line.last() == Some(&b'\n');
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
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
    Ok(Replayed {
        active,
        corrupt,
        lines,
        found: true,
        ends_a_line,
    })
}
