//! The annotations waiting for Grafana, persisted so that neither an unreachable Grafana
//! nor a restart loses them.
//!
//! The file is an append-only journal of JSON lines, each written with `fsync` before the
//! call returns: `push` (an operation joined the queue), `done` (it was sent, or given
//! up), `id` (Grafana's id for one of our keys, needed to patch the annotation later) and
//! `forget` (a run's keys are no longer needed). Opening replays it; it is rewritten
//! compactly (temp file, fsync, rename) when stale lines outnumber live ones. A torn last
//! line (a crash mid-write) is skipped.
//!
//! The queue is bounded: past `capacity` the *oldest* operation is dropped, on the theory
//! that an SRE looking at Grafana after an outage wants the recent fault windows.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::client::{AnnotationPatch, NewAnnotation};

/// One thing to tell Grafana. `key` is ours (`<run>/<fault>`); Grafana's id for it is
/// learnt when the create succeeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "op")]
pub enum Op {
    /// `POST /api/annotations`.
    Create {
        /// Our key for the annotation.
        key: String,
        /// The annotation.
        annotation: NewAnnotation,
    },
    /// `PATCH /api/annotations/{id of key}`.
    Patch {
        /// Our key for the annotation.
        key: String,
        /// The change.
        patch: AnnotationPatch,
    },
    /// Forget the ids of every key starting with `prefix` (a finished run); no request.
    Forget {
        /// Key prefix, e.g. `<run>/`.
        prefix: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "r")]
enum Line {
    Push { seq: u64, op: Op },
    Done { seq: u64 },
    Id { key: String, id: i64 },
    Forget { prefix: String },
}

/// Why the queue file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Opening, reading, writing, syncing or renaming the file failed.
    #[error("failed to {step} the Grafana annotation queue {path}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database holding a queue shared by several processes failed.
    #[error("failed to {step} the shared Grafana annotation queue")]
    Shared {
        /// What was being done.
        step: &'static str,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The persisted queue.
#[derive(Debug)]
pub struct Queue {
    path: PathBuf,
    file: File,
    pending: VecDeque<(u64, Op)>,
    ids: HashMap<String, i64>,
    next_seq: u64,
    capacity: usize,
    lines: usize,
}

impl Queue {
    /// Opens (or creates) the queue at `path`, replaying what an earlier process left.
    pub fn open(path: &Path, capacity: usize) -> Result<Queue, QueueError> {
        let io = |step| {
            let path = path.to_path_buf();
            move |source| QueueError::Io { step, path, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create the directory of"))?;
        }
        let mut pending = VecDeque::new();
        let mut ids = HashMap::new();
        let mut next_seq = 0;
        match File::open(path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.map_err(io("read"))?;
                    match serde_json::from_str::<Line>(&line) {
                        Ok(Line::Push { seq, op }) => {
                            next_seq = next_seq.max(seq + 1);
                            pending.push_back((seq, op));
                        }
                        Ok(Line::Done { seq }) => pending.retain(|(s, _)| *s != seq),
                        Ok(Line::Id { key, id }) => {
                            ids.insert(key, id);
                        }
                        Ok(Line::Forget { prefix }) => ids.retain(|k, _| !k.starts_with(&prefix)),
                        Err(e) => tracing::warn!(path = %path.display(), error = %e,
                            "skipping an unreadable line of the Grafana queue (torn write?)"),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("open")(e)),
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io("open"))?;
        let mut q = Queue {
            path: path.to_path_buf(),
            file,
            pending,
            ids,
            next_seq,
            capacity: capacity.max(1),
            lines: usize::MAX,
        };
        while q.pending.len() > q.capacity {
            q.pending.pop_front();
        }
        q.compact()?;
        Ok(q)
    }

    /// Operations waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The oldest waiting operation.
    pub fn front(&self) -> Option<&Op> {
        self.pending.front().map(|(_, op)| op)
    }

    /// Grafana's id for `key`, once its create succeeded.
    pub fn id(&self, key: &str) -> Option<i64> {
        self.ids.get(key).copied()
    }

    /// Appends `op`; returns how many of the oldest operations were dropped to stay
    /// within capacity (0 or 1).
    pub fn push(&mut self, op: Op) -> Result<usize, QueueError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.append(&Line::Push {
            seq,
            op: op.clone(),
        })?;
        self.pending.push_back((seq, op));
        let mut dropped = 0;
        while self.pending.len() > self.capacity {
            if let Some((old, _)) = self.pending.pop_front() {
                self.append(&Line::Done { seq: old })?;
                dropped += 1;
            }
        }
        self.maybe_compact()?;
        Ok(dropped)
    }

    /// Removes the oldest operation (sent, or given up), recording Grafana's id for
    /// `learnt` = (key, id) first, and applying a `Forget`.
    pub fn complete_front(&mut self, learnt: Option<(String, i64)>) -> Result<(), QueueError> {
        if let Some((key, id)) = learnt {
            self.append(&Line::Id {
                key: key.clone(),
                id,
            })?;
            self.ids.insert(key, id);
        }
        // Popped before the journal line is written: if writing fails, the operation is
        // at worst sent again after a restart, never retried forever in this process.
        let Some((seq, op)) = self.pending.pop_front() else {
            return Ok(());
        };
        if let Op::Forget { prefix } = &op {
            self.append(&Line::Forget {
                prefix: prefix.clone(),
            })?;
            self.ids.retain(|k, _| !k.starts_with(prefix.as_str()));
        }
        self.append(&Line::Done { seq })?;
        self.maybe_compact()
    }

    fn append(&mut self, line: &Line) -> Result<(), QueueError> {
        let mut s = serde_json::to_string(line).unwrap_or_default();
        s.push('\n');
        self.file
            .write_all(s.as_bytes())
            .and_then(|_| self.file.sync_data())
            .map_err(|source| QueueError::Io {
                step: "append to",
                path: self.path.clone(),
                source,
            })?;
        self.lines = self.lines.saturating_add(1);
        Ok(())
    }

    fn maybe_compact(&mut self) -> Result<(), QueueError> {
        let live = self.pending.len() + self.ids.len();
        if self.lines > 2 * live + 1000 {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the file with only live lines: temp file, fsync, rename, fsync the dir.
    fn compact(&mut self) -> Result<(), QueueError> {
        let io = |step, path: &Path| {
            let path = path.to_path_buf();
            move |source| QueueError::Io { step, path, source }
        };
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut body = String::new();
        let mut lines = 0;
        for (key, id) in &self.ids {
            let line = Line::Id {
                key: key.clone(),
                id: *id,
            };
            body.push_str(&serde_json::to_string(&line).unwrap_or_default());
            body.push('\n');
            lines += 1;
        }
        for (seq, op) in &self.pending {
            let line = Line::Push {
                seq: *seq,
                op: op.clone(),
            };
            body.push_str(&serde_json::to_string(&line).unwrap_or_default());
            body.push('\n');
            lines += 1;
        }
        let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(body.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io("write", &tmp))?;
        std::fs::rename(&tmp, &self.path).map_err(io("replace", &self.path))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            // Makes the rename itself durable; failing to sync a directory is not fatal.
            let _ = d.sync_all();
        }
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io("open", &self.path))?;
        self.lines = lines;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(key: &str) -> Op {
        Op::Create {
            key: key.into(),
            annotation: NewAnnotation {
                dashboard_uid: None,
                time: 1,
                time_end: None,
                tags: vec!["faultline".into()],
                text: key.into(),
            },
        }
    }

    #[test]
    fn pending_operations_and_ids_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let mut q = Queue::open(&path, 10).unwrap();
        q.push(create("r/a")).unwrap();
        q.push(create("r/b")).unwrap();
        q.complete_front(Some(("r/a".into(), 7))).unwrap();
        drop(q);
        let mut q = Queue::open(&path, 10).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q.front(), Some(&create("r/b")));
        assert_eq!(q.id("r/a"), Some(7));
        q.push(Op::Forget {
            prefix: "r/".into(),
        })
        .unwrap();
        q.complete_front(None).unwrap();
        q.complete_front(None).unwrap();
        assert!(q.is_empty());
        assert_eq!(q.id("r/a"), None);
        drop(q);
        let q = Queue::open(&path, 10).unwrap();
        assert!(q.is_empty());
        assert_eq!(q.id("r/a"), None);
    }

    #[test]
    fn the_oldest_is_dropped_past_capacity_also_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let mut q = Queue::open(&path, 2).unwrap();
        assert_eq!(q.push(create("1")).unwrap(), 0);
        assert_eq!(q.push(create("2")).unwrap(), 0);
        assert_eq!(q.push(create("3")).unwrap(), 1);
        drop(q);
        let q = Queue::open(&path, 2).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.front(), Some(&create("2")));
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let mut q = Queue::open(&path, 10).unwrap();
        q.push(create("1")).unwrap();
        drop(q);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"r\":\"push\",\"seq\":9,\"op\":{\"op\":\"cre")
            .unwrap();
        drop(f);
        let q = Queue::open(&path, 10).unwrap();
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn compaction_keeps_the_file_small_and_the_content_equal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let mut q = Queue::open(&path, 10).unwrap();
        for i in 0..1200 {
            q.push(create(&format!("k{i}"))).unwrap();
            q.complete_front(None).unwrap();
        }
        q.push(create("last")).unwrap();
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines < 1100, "{lines} lines after compaction");
        drop(q);
        let q = Queue::open(&path, 10).unwrap();
        assert_eq!(q.front(), Some(&create("last")));
        assert_eq!(q.len(), 1);
    }
}
