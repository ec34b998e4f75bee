//! The agent's journal: an append-only JSON-lines file under the state dir, fsync'd, that
//! says which faults may still be applied. It is written *before* the kernel is touched,
//! so after a crash (or `kill -9`) the next start knows exactly what to undo.
//!
//! One line per entry:
//! - `{"op":"applying","group":"<request id>","record":{FaultRecord}}` before apply;
//! - `{"op":"recovered","id":"<record id>"}` after recovery (or after an instant fault);
//! - `{"op":"renewed","id":"<record id>","leaseUntil":"<RFC 3339>"}` when a lease is renewed.
//!
//! Replaying the lines in order gives the records still applied. A line that does not
//! parse (a crash mid-write, a disk error) is reported with its line number and skipped:
//! it never stops the recovery of the rest. On open, and whenever the file has grown well
//! past what is active, it is compacted: the active records are written to a temp file,
//! fsync'd and renamed over the journal.
//!
//! A `lock` file held with `flock` keeps two agents (or an agent and `faultline run`) from
//! journaling into the same directory at once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultId, FaultRecord};

/// The journal file's name inside the state dir.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// The lock file's name inside the state dir.
pub const LOCK_FILE: &str = "lock";

/// Compact once this many lines were appended beyond the active records.
const COMPACT_AFTER_LINES: usize = 4096;

/// Why the journal could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file or directory operation failed.
    #[error("failed to {action} {path}")]
    Io {
        /// The step, e.g. "fsync".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the state dir's lock.
    #[error(
        "state dir {dir} is in use by another faultline agent or run ({holder}); \
         stop it or pick another --state-dir"
    )]
    Locked {
        /// The state dir.
        dir: PathBuf,
        /// What the lock file says about its holder (its pid), or "unknown".
        holder: String,
    },
    /// An entry could not be encoded (never expected: the types are plain data).
    #[error("failed to encode journal entry for {id}")]
    Encode {
        /// The record concerned.
        id: FaultId,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Entry {
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

/// The open journal of one state dir; holds the dir's lock until dropped.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    // Held for its `Drop`, which releases the flock.
    _lock: nix::fcntl::Flock<File>,
    active: BTreeMap<FaultId, Active>,
    lines_since_compact: usize,
}

impl Journal {
    /// Locks `dir` (creating it), replays the journal in it and compacts it. Returns the
    /// journal; [`Journal::active`] then lists what may still be applied.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(dir).map_err(io("create state dir", dir))?;
        let lock = lock_dir(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let (active, corrupt) = replay(&path)?;
        if corrupt > 0 {
            // Keep the damaged file for whoever investigates; compaction below drops
            // the lines that could not be read.
            let keep = dir.join(format!(
                "{JOURNAL_FILE}.corrupt-{}",
                Utc::now().format("%Y%m%dT%H%M%S")
            ));
            std::fs::copy(&path, &keep).map_err(io("copy damaged journal to", &keep))?;
            tracing::warn!(kept = %keep.display(), corrupt, "journal had unreadable lines");
        }
        let file = write_compacted(dir, &path, &active)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            path,
            file,
            _lock: lock,
            active,
            lines_since_compact: 0,
        })
    }

    /// The state dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records still applied, by record id.
    pub fn active(&self) -> &BTreeMap<FaultId, Active> {
        &self.active
    }

    /// Journals `record` (of request `group`) as about to be applied. Call before
    /// touching the kernel; when it returns, the entry is on disk.
    pub fn applying(&mut self, group: &FaultId, record: &FaultRecord) -> Result<(), JournalError> {
        self.applying_all(group, std::slice::from_ref(record))
    }

    /// [`Journal::applying`] for all `records` of request `group`, with one fsync: a
    /// request on 1,000 containers waited on 1,000 of them before.
    pub fn applying_all(
        &mut self,
        group: &FaultId,
        records: &[FaultRecord],
    ) -> Result<(), JournalError> {
        let entries: Vec<Entry> = records
            .iter()
            .map(|record| Entry::Applying {
                group: group.clone(),
                record: Box::new(record.clone()),
            })
            .collect();
        self.append(&entries)?;
        for record in records {
            self.active.insert(
                record.id.clone(),
                Active {
                    group: group.clone(),
                    record: record.clone(),
                },
            );
        }
        Ok(())
    }

    /// Journals that `id` was recovered (or never stayed applied).
    pub fn recovered(&mut self, id: &FaultId) -> Result<(), JournalError> {
        self.recovered_all(std::slice::from_ref(id))
    }

    /// [`Journal::recovered`] for all of `ids`, with one fsync.
    pub fn recovered_all(&mut self, ids: &[FaultId]) -> Result<(), JournalError> {
        if ids.is_empty() {
            return Ok(());
        }
        let entries: Vec<Entry> = ids
            .iter()
            .map(|id| Entry::Recovered { id: id.clone() })
            .collect();
        self.append(&entries)?;
        for id in ids {
            self.active.remove(id);
        }
        self.maybe_compact()
    }

    /// Journals a new lease for `id`. Unknown ids are ignored.
    pub fn renewed(
        &mut self,
        id: &FaultId,
        lease_until: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.renewed_all(std::slice::from_ref(id), lease_until)
    }

    /// [`Journal::renewed`] for all of `ids`, with one fsync.
    pub fn renewed_all(
        &mut self,
        ids: &[FaultId],
        lease_until: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        let known: Vec<&FaultId> = ids
            .iter()
            .filter(|id| self.active.contains_key(*id))
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        let entries: Vec<Entry> = known
            .iter()
            .map(|id| Entry::Renewed {
                id: (*id).clone(),
                lease_until,
            })
            .collect();
        self.append(&entries)?;
        for id in known {
            if let Some(a) = self.active.get_mut(id) {
                a.record.lease_until = lease_until;
            }
        }
        self.maybe_compact()
    }

    /// Rewrites the file with only the active records.
    pub fn compact(&mut self) -> Result<(), JournalError> {
        self.file = write_compacted(&self.dir, &self.path, &self.active)?;
        self.lines_since_compact = 0;
        Ok(())
    }

    fn maybe_compact(&mut self) -> Result<(), JournalError> {
        if self.lines_since_compact > COMPACT_AFTER_LINES + self.active.len() {
            self.compact()?;
        }
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        let mut text = String::new();
        for entry in entries {
            text.push_str(&encode(entry)?);
            text.push('\n');
        }
        // One write of whole lines, then fsync: a crash leaves at most one partial last
        // line, which replay skips.
        self.file
            .write_all(text.as_bytes())
            .map_err(io("append to", &self.path))?;
        self.file.sync_data().map_err(io("fsync", &self.path))?;
        self.lines_since_compact += entries.len();
        Ok(())
    }
}

fn entry_id(entry: &Entry) -> FaultId {
    match entry {
        Entry::Applying { record, .. } => record.id.clone(),
        Entry::Recovered { id } | Entry::Renewed { id, .. } => id.clone(),
    }
}

fn encode(entry: &Entry) -> Result<String, JournalError> {
    serde_json::to_string(entry).map_err(|source| JournalError::Encode {
        id: entry_id(entry),
        source,
    })
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Takes the dir's flock without blocking and writes our pid into the lock file so the
/// next one to try can say who holds it.
fn lock_dir(dir: &Path) -> Result<nix::fcntl::Flock<File>, JournalError> {
    use nix::fcntl::{Flock, FlockArg};
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("open lock file", &path))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => {
            let mut f: &File = &lock;
            f.set_len(0).map_err(io("truncate lock file", &path))?;
            writeln!(f, "pid {}", std::process::id()).map_err(io("write pid to", &path))?;
            Ok(lock)
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".into());
            Err(JournalError::Locked {
                dir: dir.to_path_buf(),
                holder,
            })
        }
        Err((_, errno)) => Err(JournalError::Io {
            action: "flock",
            path,
            source: std::io::Error::from_raw_os_error(errno as i32),
        }),
    }
}

/// Reads the journal; returns the active records and how many lines were unreadable.
fn replay(path: &Path) -> Result<(BTreeMap<FaultId, Active>, usize), JournalError> {
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
        match serde_json::from_slice::<Entry>(&line) {
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

/// Writes the active records to a temp file, fsyncs it, renames it over the journal and
/// fsyncs the dir, then returns the journal opened for appending.
fn write_compacted(
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

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::{LocalTarget, NodeFault};

    fn rec(id: &str) -> FaultRecord {
        FaultRecord {
            id: FaultId::new(id).unwrap(),
            kind: NodeFault::ProcessPause(Default::default()),
            target: LocalTarget::Pid(4242),
            resolved: Default::default(),
            lease_until: Utc::now(),
        }
    }

    fn group(id: &str) -> FaultId {
        FaultId::new(id).unwrap()
    }

    fn ids(j: &Journal) -> Vec<String> {
        j.active().keys().map(|k| k.to_string()).collect()
    }

    #[test]
    fn replay_returns_what_was_applied_and_not_recovered_with_the_latest_lease() {
        let dir = tempfile::tempdir().unwrap();
        let later = Utc::now() + chrono::Duration::seconds(300);
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.applying(&group("g"), &rec("g-0")).unwrap();
            j.applying(&group("g"), &rec("g-1")).unwrap();
            j.applying(&group("h"), &rec("h-0")).unwrap();
            j.recovered(&group("g-1")).unwrap();
            j.renewed(&group("h-0"), later).unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(ids(&j), ["g-0", "h-0"]);
        assert_eq!(j.active()[&group("h-0")].record.lease_until, later);
        assert_eq!(j.active()[&group("g-0")].group, group("g"));
    }

    #[test]
    fn batches_are_replayed_like_single_entries() {
        let dir = tempfile::tempdir().unwrap();
        let later = Utc::now() + chrono::Duration::seconds(300);
        let recs: Vec<FaultRecord> = (0..5).map(|i| rec(&format!("g-{i}"))).collect();
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.applying_all(&group("g"), &recs).unwrap();
            j.recovered_all(&[group("g-1"), group("g-3")]).unwrap();
            j.renewed_all(&[group("g-0"), group("g-3"), group("nope")], later)
                .unwrap();
            j.recovered_all(&[]).unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
        assert_eq!(
            text.lines().count(),
            5 + 2 + 1,
            "one line per entry:\n{text}"
        );
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(ids(&j), ["g-0", "g-2", "g-4"]);
        assert_eq!(j.active()[&group("g-0")].record.lease_until, later);
        assert_ne!(j.active()[&group("g-2")].record.lease_until, later);
    }

    #[test]
    fn corrupt_and_truncated_lines_are_skipped_and_the_rest_replayed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.applying(&group("a"), &rec("a-0")).unwrap();
        }
        let path = dir.path().join(JOURNAL_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("this is not json\n");
        text.push_str(
            &encode(&Entry::Applying {
                group: group("b"),
                record: Box::new(rec("b-0")),
            })
            .unwrap(),
        );
        text.push('\n');
        // A torn last write: half of a line, no newline.
        let torn = encode(&Entry::Applying {
            group: group("c"),
            record: Box::new(rec("c-0")),
        })
        .unwrap();
        text.push_str(&torn[..torn.len() / 2]);
        std::fs::write(&path, text).unwrap();

        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(ids(&j), ["a-0", "b-0"]);
        // The damaged file is kept aside, and the journal itself is clean again, so
        // appends after the torn line are readable.
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".corrupt-")
            })
            .count();
        assert_eq!(kept, 1);
        j.applying(&group("d"), &rec("d-0")).unwrap();
        drop(j);
        assert_eq!(
            ids(&Journal::open(dir.path()).unwrap()),
            ["a-0", "b-0", "d-0"]
        );
    }

    #[test]
    fn compaction_keeps_only_active_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let mut j = Journal::open(dir.path()).unwrap();
        j.applying(&group("keep"), &rec("keep-0")).unwrap();
        for i in 0..(COMPACT_AFTER_LINES / 2 + 10) {
            let id = format!("x{i}-0");
            j.applying(&group(&format!("x{i}")), &rec(&id)).unwrap();
            j.recovered(&group(&id)).unwrap();
        }
        // The threshold was crossed, so the file was rewritten: far fewer lines than
        // were appended, and the kept record is still there.
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines < COMPACT_AFTER_LINES / 2, "journal has {lines} lines");
        j.compact().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        drop(j);
        assert_eq!(ids(&Journal::open(dir.path()).unwrap()), ["keep-0"]);
    }

    #[test]
    fn a_second_opener_of_the_same_dir_gets_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let first = Journal::open(dir.path()).unwrap();
        let err = Journal::open(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, JournalError::Locked { .. }), "{err:?}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        Journal::open(dir.path()).unwrap();
    }
}
