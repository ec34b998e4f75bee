//! The journal file's name and its line format; the serde form here is what is on disk.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::JournalError;
use crate::faults::{FaultId, FaultRecord};

/// The journal file's name inside the state dir.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub(super) enum Entry {
    Applying {
        group: FaultId,
        record: Box<FaultRecord>,
    },
    Recovered {
        id: FaultId,
    },
    Renewed {
        id: FaultId,
        lease_until: DateTime<Utc>,
    },
}

/// A record the journal says may still be applied, with the request it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    /// The id of the request (`POST /v1/faults` body `id`) this record belongs to.
    pub group: FaultId,
    /// The record as journaled, with its latest lease.
    pub record: FaultRecord,
}

fn entry_id(entry: &Entry) -> FaultId {
    match entry {
        Entry::Applying { record, .. } => record.id.clone(),
        Entry::Recovered { id } | Entry::Renewed { id, .. } => id.clone(),
    }
}

/// One line of the journal, without its newline.
pub(super) fn encode(entry: &Entry) -> Result<String, JournalError> {
    serde_json::to_string(entry).map_err(|source| JournalError::Encode {
        id: entry_id(entry),
        source,
    })
}

/// One journal line read back. Rates in lines an older agent wrote (`1mbps`, meaning one
/// megabit per second then) are read with that meaning, not tc's (`faultline_spec::legacy`);
/// this agent writes rates in bits, which read the same either way.
pub(super) fn decode(line: &[u8]) -> Result<Entry, serde_json::Error> {
    let mut v: serde_json::Value = serde_json::from_slice(line)?;
    faultline_spec::legacy::upgrade_rates(&mut v);
    Entry::deserialize(v)
}
