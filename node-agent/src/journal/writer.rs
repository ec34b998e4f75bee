//! [`Journal`]: the open journal of one state dir. It appends entries with one write and
//! one fsync per batch, keeps the active records in memory, and compacts the file when it
//! has grown well past them.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::compact::write_compacted;
use super::error::{JournalError, io};
use super::format::{Active, Entry, JOURNAL_FILE, encode};
use super::lock::lock_dir;
use super::replay::{Replayed, replay};
use crate::faults::{FaultId, FaultRecord};

/// Compact once this many lines were appended beyond the active records.
const COMPACT_AFTER_LINES: usize = 4096;

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
        let Replayed {
            active,
            corrupt,
            lines,
            found,
            ends_a_line,
        } = replay(&path)?;
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
        // A sound journal is appended to as it is, and compacted once it has grown well
        // past what is active (as while running): compacting at every open cost two
        // fsyncs, a rename and a dir fsync at every `faultline run` (P7). A damaged one,
        // or one whose last line was cut (appending would glue the next entry to it), is
        // rewritten now, and a missing one is created that way (its dir entry fsync'd).
        let since_compact = lines.saturating_sub(active.len());
        let sound = found && corrupt == 0 && ends_a_line && since_compact < COMPACT_AFTER_LINES;
        let file = if sound {
            OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(io("open for append", &path))?
        } else {
            write_compacted(dir, &path, &active)?
        };
        Ok(Journal {
            dir: dir.to_path_buf(),
            path,
            file,
            _lock: lock,
            active,
            lines_since_compact: if sound { since_compact } else { 0 },
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
            prior: None,
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
    fn rates_in_an_old_agents_journal_keep_their_meaning() {
        use faultline_spec::BitRate;
        // A line as the agent wrote it before rates were read as tc reads them: `1mbps`
        // was one megabit per second then (tc's `1mbps` is one megabyte per second).
        let dir = tempfile::tempdir().unwrap();
        let mut r = rec("g-0");
        r.kind = serde_json::from_str(
            r#"{"networkBandwidth":{"rate":"1mbit","limit":"20KB","buffer":"10KB","peakrate":"2mbit","minburst":"1500B"}}"#,
        )
        .unwrap();
        let line = encode(&Entry::Applying {
            group: group("g"),
            record: Box::new(r),
        })
        .unwrap();
        let old = line.replace("mbit", "mbps");
        assert!(old.contains(r#""rate":"1mbps""#), "{old}");
        std::fs::write(dir.path().join(JOURNAL_FILE), format!("{old}\n")).unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let NodeFault::NetworkBandwidth(b) = &j.active()[&group("g-0")].record.kind else {
            panic!("not read back as a bandwidth fault");
        };
        assert_eq!(b.rate, BitRate(1_000_000));
        assert_eq!(b.peakrate, Some(BitRate(2_000_000)));
        // Written again (compaction), the record says it in bits, which both versions
        // read the same way, and reads back unchanged.
        j.compact().unwrap();
        let text = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
        assert!(
            text.contains(r#""rate":"1mbit""#) && !text.contains("bps"),
            "{text}"
        );
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        let NodeFault::NetworkBandwidth(b) = &j.active()[&group("g-0")].record.kind else {
            panic!("not read back as a bandwidth fault");
        };
        assert_eq!(b.rate, BitRate(1_000_000));
    }

    #[test]
    fn a_sound_journal_is_opened_as_it_is_and_one_with_a_cut_last_line_is_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        {
            let mut j = Journal::open(dir.path()).unwrap();
            j.applying(&group("a"), &rec("a-0")).unwrap();
            j.applying(&group("b"), &rec("b-0")).unwrap();
            j.recovered(&group("b-0")).unwrap();
        }
        // No compaction at open (it cost fsyncs at every start): same file, same lines.
        let inode = std::fs::metadata(&path).unwrap().ino();
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
        assert_eq!(ids(&j), ["a-0"]);
        j.recovered(&group("a-0")).unwrap();
        drop(j);
        assert!(ids(&Journal::open(dir.path()).unwrap()).is_empty());
        // A last entry that parses but lost its newline: appending would glue the next
        // entry to it, so the file is rewritten.
        let whole = encode(&Entry::Applying {
            group: group("c"),
            record: Box::new(rec("c-0")),
        })
        .unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&whole);
        std::fs::write(&path, text).unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), inode);
        j.applying(&group("d"), &rec("d-0")).unwrap();
        drop(j);
        assert_eq!(ids(&Journal::open(dir.path()).unwrap()), ["c-0", "d-0"]);
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
