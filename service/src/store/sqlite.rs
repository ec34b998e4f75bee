//! The SQLite store. One row per run, one row per event; an event and the run's new state
//! are written in one transaction, with `synchronous=FULL`, before the engine takes its
//! next step — so after a crash the file says exactly how far the run got.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use super::deliveries::{Db, DeliveryWriter};
use super::schema::migrate;
use super::sql::{configure, parse_time, sql};
use crate::application::ports::{RunFilter, StoreError};
use crate::domain::GitlabContext;
use crate::domain::{RunEvent, RunRow, RunState, StoredEvent};

/// The runs no process finished, oldest first (index `runs_unfinished`).
pub(super) const UNFINISHED_RUNS: &str =
    "SELECT id FROM runs WHERE finished_at IS NULL ORDER BY created_at";

/// The store handle; cheap to share behind an `Arc`.
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Records webhook deliveries with group commit, on the same connection.
    pub(super) deliveries: DeliveryWriter,
}

impl Store {
    /// Opens (creating if needed) the store file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(sql("open"))?;
        Store::init(conn, Some(path))
    }

    /// Opens (creating if needed) the store file of a one-shot process on this machine
    /// (`faultline run`): commits are not fsync'd one by one (`synchronous=NORMAL` under
    /// WAL) and closing does not checkpoint, which took a `faultline run` of one instant
    /// fault from ~16 fsyncs to none (P7), with a checkpoint every few runs. Every commit is still in the file, atomically,
    /// before the engine's next step, so a killed run (`kill -9`, a crash) loses nothing.
    /// What it gives up is the last commits after a power loss or kernel crash, which also
    /// ends every fault such a run applies (qdiscs, stopped processes, stress workers and
    /// frozen cgroups do not outlive a reboot), while the agent's journal, which says what
    /// to undo, stays fsync'd before each fault. `serve` keeps [`Store::open`]: its webhook
    /// deliveries and runs are answered to others.
    pub fn open_local(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(sql("open"))?;
        let store = Store::init(conn, Some(path))?;
        {
            let conn = store.conn();
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(sql("set synchronous"))?;
            // The WAL outlives each run, and the first connection of the next one reads
            // all of it back (checksumming every frame) before its first query: at the
            // default 1,000 pages that was up to 4 MiB, the largest cost left in a run's
            // start. A run writes ~30 pages, so this checkpoints (two fsyncs) about every
            // eighth run and keeps the read-back under 1 MiB.
            conn.pragma_update(None, "wal_autocheckpoint", 256)
                .map_err(sql("set wal_autocheckpoint"))?;
            conn.set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .map_err(sql("keep the WAL on close"))?;
        }
        Ok(store)
    }

    /// A store that lives in memory (tests, `faultline run --no-store`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory().map_err(sql("open"))?, None)
    }

    fn init(conn: Connection, path: Option<&Path>) -> Result<Store, StoreError> {
        configure(&conn)?;
        migrate(&conn)?;
        let conn = Arc::new(Mutex::new(conn));
        let db = match path {
            Some(p) => Db::File(p.to_path_buf()),
            None => Db::Shared(conn.clone()),
        };
        Ok(Store {
            deliveries: DeliveryWriter::new(db),
            conn,
        })
    }

    /// The connection, for the store's other tables (the notification outbox).
    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a run in `pending`.
    pub fn create_run(
        &self,
        id: &str,
        experiment: &str,
        spec_json: &str,
    ) -> Result<(), StoreError> {
        self.create_run_from(id, experiment, spec_json, None)
    }

    /// Creates a run in `pending` that GitLab event `gitlab` (if any) started.
    pub fn create_run_from(
        &self,
        id: &str,
        experiment: &str,
        spec_json: &str,
        gitlab: Option<&GitlabContext>,
    ) -> Result<(), StoreError> {
        let gitlab = gitlab.map(|g| serde_json::to_string(g).expect("GitlabContext serialises"));
        self.conn()
            .execute(
                "INSERT INTO runs (id, experiment, state, spec_json, created_at, gitlab_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, experiment, RunState::Pending.as_str(), spec_json, Utc::now().to_rfc3339(), gitlab],
            )
            .map_err(sql("create run"))?;
        Ok(())
    }

    /// Persists one event; a `StateChanged` also moves the run, if the move is legal.
    /// Returns the event's sequence number.
    pub fn record(&self, run: &str, event: &RunEvent) -> Result<u64, StoreError> {
        self.record_all(run, std::slice::from_ref(event))
    }

    /// Persists `events` in order in one transaction (one fsync): all or none. A step
    /// over 10,000 pods records 10,000 `FaultApplied`; one commit each took seconds.
    /// Returns the last event's sequence number (the one before, when `events` is empty).
    pub fn record_all(&self, run: &str, events: &[RunEvent]) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        // Immediate: the write lock first, waiting (busy timeout) while the delivery
        // writer's connection commits. A deferred transaction would read first, and its
        // write would then fail outright (SQLITE_BUSY) had the writer committed meanwhile.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin"))?;
        // Cached statements: a run records twenty-odd times, and compiling the same SQL
        // each time was a tenth of a `faultline run`'s CPU (P7).
        let state: Option<String> = tx
            .prepare_cached("SELECT state FROM runs WHERE id = ?1")
            .and_then(|mut st| st.query_row([run], |r| r.get(0)).optional())
            .map_err(sql("read run"))?;
        let state = state.ok_or_else(|| StoreError::NoSuchRun(run.to_string()))?;
        let mut from = parse_state(run, &state)?;
        let mut seq: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?1")
            .and_then(|mut st| st.query_row([run], |r| r.get(0)))
            .map_err(sql("next event seq"))?;
        let now = Utc::now();
        for event in events {
            if let RunEvent::StateChanged { to, reason } = event {
                if !from.can_go(*to) {
                    return Err(StoreError::IllegalTransition {
                        run: run.to_string(),
                        from,
                        to: *to,
                    });
                }
                let finished = to.is_terminal().then(|| now.to_rfc3339());
                tx.prepare_cached(
                    "UPDATE runs SET state = ?2, reason = ?3, finished_at = ?4 WHERE id = ?1",
                )
                .and_then(|mut st| st.execute(params![run, to.as_str(), reason, finished]))
                .map_err(sql("update run state"))?;
                from = *to;
            }
            seq += 1;
            let body = serde_json::to_string(event).expect("RunEvent serialises");
            tx.prepare_cached("INSERT INTO events (run_id, seq, at, body) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut st| st.execute(params![run, seq, now.to_rfc3339(), body]))
                .map_err(sql("insert event"))?;
        }
        tx.commit().map_err(sql("commit event"))?;
        Ok(seq.unsigned_abs())
    }

    /// One run.
    pub fn run(&self, id: &str) -> Result<RunRow, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, experiment, state, reason, spec_json, created_at, finished_at, gitlab_json FROM runs WHERE id = ?1",
                [id],
                raw_row,
            )
            .optional()
            .map_err(sql("read run"))?;
        row.ok_or_else(|| StoreError::NoSuchRun(id.to_string()))
            .and_then(decode_row)
    }

    /// The newest `limit` runs, newest first.
    pub fn list_runs(&self, limit: u32) -> Result<Vec<RunRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, experiment, state, reason, spec_json, created_at, finished_at, gitlab_json FROM runs ORDER BY created_at DESC LIMIT ?1",
            )
            .map_err(sql("list runs"))?;
        let rows = stmt.query_map([limit], raw_row).map_err(sql("list runs"))?;
        rows.map(|r| r.map_err(sql("list runs")).and_then(decode_row))
            .collect()
    }

    /// Runs newest first, filtered by experiment, state, GitLab project and creation
    /// time, after the cursor `before` (a run id: the page starts with the run created
    /// just before it). At most `limit`.
    pub fn find_runs(&self, f: &RunFilter<'_>) -> Result<Vec<RunRow>, StoreError> {
        let conn = self.conn();
        // Keyset pagination on (created_at, id): stable while runs are being added, and no
        // OFFSET scan on a long history. Times are compared as the RFC 3339 text they are
        // stored as (`to_rfc3339`, always `+00:00`), which sorts as the times do. A
        // project matches itself or, as a group, every project under it.
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, experiment, state, reason, spec_json, created_at, finished_at, gitlab_json FROM runs
                 WHERE (?1 IS NULL OR experiment = ?1)
                   AND (?2 IS NULL OR state = ?2)
                   AND (?3 IS NULL OR (created_at, id) < (SELECT created_at, id FROM runs WHERE id = ?3))
                   AND (?5 IS NULL OR json_extract(gitlab_json, '$.projectPath') = ?5
                        OR substr(json_extract(gitlab_json, '$.projectPath'), 1, length(?5) + 1) = ?5 || '/')
                   AND (?6 IS NULL OR created_at >= ?6)
                   AND (?7 IS NULL OR created_at < ?7)
                 ORDER BY created_at DESC, id DESC LIMIT ?4",
            )
            .map_err(sql("find runs"))?;
        let rows = stmt
            .query_map(
                params![
                    f.experiment,
                    f.state.map(RunState::as_str),
                    f.before,
                    f.limit,
                    f.project,
                    f.since.map(|t| t.to_rfc3339()),
                    f.until.map(|t| t.to_rfc3339()),
                ],
                raw_row,
            )
            .map_err(sql("find runs"))?;
        rows.map(|r| r.map_err(sql("find runs")).and_then(decode_row))
            .collect()
    }

    /// A run's events in order.
    pub fn events(&self, run: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.events_after(run, 0)
    }

    /// A run's events after sequence number `after`, in order (the primary key's range:
    /// a live view reads only what is new).
    pub fn events_after(&self, run: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, at, body FROM events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq",
            )
            .map_err(sql("read events"))?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![run, after], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(sql("read events"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, body) = row.map_err(sql("read events"))?;
            let corrupt = |what, detail: String| StoreError::Corrupt {
                run: run.to_string(),
                what,
                detail,
            };
            out.push(StoredEvent {
                seq: seq.unsigned_abs(),
                at: parse_time(&at).map_err(|e| corrupt("event time", e.to_string()))?,
                event: serde_json::from_str(&body).map_err(|e| corrupt("event", e.to_string()))?,
            });
        }
        Ok(out)
    }

    /// Ends every run that is not terminal with `error` and `reason`: what a restarted
    /// service does first, since nothing is driving those runs any more. Returns their ids.
    pub fn fail_interrupted(&self, reason: &str) -> Result<Vec<String>, StoreError> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(UNFINISHED_RUNS)
                .map_err(sql("find interrupted runs"))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(sql("find interrupted runs"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sql("find interrupted runs"))?
        };
        for id in &ids {
            self.record(
                id,
                &RunEvent::StateChanged {
                    to: RunState::Error,
                    reason: reason.to_string(),
                },
            )?;
        }
        Ok(ids)
    }
}

type RawRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    RawRow::try_from(r)
}

fn decode_row(
    (id, experiment, state, reason, spec_json, created, finished, gitlab): RawRow,
) -> Result<RunRow, StoreError> {
    let corrupt = |what, detail: String| StoreError::Corrupt {
        run: id.clone(),
        what,
        detail,
    };
    Ok(RunRow {
        state: parse_state(&id, &state)?,
        created_at: parse_time(&created).map_err(|e| corrupt("created_at", e.to_string()))?,
        finished_at: finished
            .map(|f| parse_time(&f))
            .transpose()
            .map_err(|e| corrupt("finished_at", e.to_string()))?,
        gitlab: gitlab
            .map(|g| serde_json::from_str(&g))
            .transpose()
            .map_err(|e| corrupt("gitlab_json", e.to_string()))?,
        id,
        experiment,
        reason,
        spec_json,
    })
}

fn parse_state(run: &str, s: &str) -> Result<RunState, StoreError> {
    RunState::parse(s).ok_or_else(|| StoreError::Corrupt {
        run: run.to_string(),
        what: "state",
        detail: s.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(to: RunState) -> RunEvent {
        RunEvent::StateChanged {
            to,
            reason: String::new(),
        }
    }

    #[test]
    fn events_are_numbered_and_move_the_run() {
        let s = Store::open_in_memory().unwrap();
        s.create_run("r1", "exp", "{}").unwrap();
        assert_eq!(s.record("r1", &go(RunState::CheckingBefore)).unwrap(), 1);
        assert_eq!(
            s.record(
                "r1",
                &RunEvent::Note {
                    message: "hi".into()
                }
            )
            .unwrap(),
            2
        );
        assert_eq!(s.run("r1").unwrap().state, RunState::CheckingBefore);
        let ev = s.events("r1").unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[1].event,
            RunEvent::Note {
                message: "hi".into()
            }
        );
    }

    #[test]
    fn illegal_transitions_are_refused_and_not_recorded() {
        let s = Store::open_in_memory().unwrap();
        s.create_run("r1", "exp", "{}").unwrap();
        let e = s.record("r1", &go(RunState::Passed)).unwrap_err();
        assert!(matches!(e, StoreError::IllegalTransition { .. }), "{e}");
        assert!(s.events("r1").unwrap().is_empty());
        assert_eq!(s.run("r1").unwrap().state, RunState::Pending);
        assert!(matches!(
            s.record("nope", &go(RunState::Error)),
            Err(StoreError::NoSuchRun(_))
        ));
    }

    #[test]
    fn a_batch_is_numbered_in_order_and_refused_whole() {
        let s = Store::open_in_memory().unwrap();
        s.create_run("r1", "exp", "{}").unwrap();
        let note = |m: &str| RunEvent::Note { message: m.into() };
        assert_eq!(s.record("r1", &note("first")).unwrap(), 1);
        let batch = [
            go(RunState::CheckingBefore),
            note("a"),
            go(RunState::Injecting),
            note("b"),
        ];
        assert_eq!(s.record_all("r1", &batch).unwrap(), 5);
        assert_eq!(s.run("r1").unwrap().state, RunState::Injecting);
        let ev = s.events("r1").unwrap();
        assert_eq!(
            ev.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(ev[4].event, note("b"));
        // A transition that is illegal after the batch's own earlier ones spoils the batch.
        let bad = [note("c"), go(RunState::Pending), note("d")];
        let e = s.record_all("r1", &bad).unwrap_err();
        assert!(matches!(e, StoreError::IllegalTransition { .. }), "{e}");
        assert_eq!(s.events("r1").unwrap().len(), 5);
        assert_eq!(s.run("r1").unwrap().state, RunState::Injecting);
        assert_eq!(s.record_all("r1", &[]).unwrap(), 5);
    }

    #[test]
    fn a_restart_ends_interrupted_runs_in_error_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faultline.db");
        {
            let s = Store::open(&path).unwrap();
            s.create_run("live", "exp", "{}").unwrap();
            s.record("live", &go(RunState::CheckingBefore)).unwrap();
            s.record("live", &go(RunState::Injecting)).unwrap();
            s.create_run("done", "exp", "{}").unwrap();
            s.record("done", &go(RunState::Error)).unwrap();
        }
        let s = Store::open(&path).unwrap();
        let failed = s.fail_interrupted("service restarted mid-run").unwrap();
        assert_eq!(failed, vec!["live".to_string()]);
        let run = s.run("live").unwrap();
        assert_eq!(run.state, RunState::Error);
        assert_eq!(run.reason, "service restarted mid-run");
        assert!(run.finished_at.is_some());
        assert_eq!(s.list_runs(10).unwrap().len(), 2);
    }

    #[test]
    fn runs_are_found_by_experiment_and_state_a_page_at_a_time() {
        let s = Store::open_in_memory().unwrap();
        for i in 0..7 {
            let exp = if i % 2 == 0 { "even" } else { "odd" };
            s.create_run(&format!("r{i}"), exp, "{}").unwrap();
            if i < 3 {
                s.record(&format!("r{i}"), &go(RunState::Error)).unwrap();
            }
        }
        let ids = |f: RunFilter<'_>| -> Vec<String> {
            s.find_runs(&f).unwrap().into_iter().map(|r| r.id).collect()
        };
        let all = ids(RunFilter {
            limit: 100,
            ..RunFilter::default()
        });
        assert_eq!(all.len(), 7);
        let page1 = ids(RunFilter {
            limit: 3,
            ..RunFilter::default()
        });
        let page2 = ids(RunFilter {
            limit: 3,
            before: page1.last().map(String::as_str),
            ..RunFilter::default()
        });
        let page3 = ids(RunFilter {
            limit: 3,
            before: page2.last().map(String::as_str),
            ..RunFilter::default()
        });
        let paged: Vec<String> = [page1, page2, page3].concat();
        assert_eq!(paged, all, "pages cover every run once, in order");
        let even = ids(RunFilter {
            experiment: Some("even"),
            limit: 100,
            ..RunFilter::default()
        });
        assert_eq!(even.len(), 4);
        let errored = ids(RunFilter {
            state: Some(RunState::Error),
            limit: 100,
            ..RunFilter::default()
        });
        assert_eq!(errored.len(), 3);
        let odd_errors = ids(RunFilter {
            experiment: Some("odd"),
            state: Some(RunState::Error),
            limit: 100,
            ..RunFilter::default()
        });
        assert_eq!(odd_errors, ["r1"]);
    }
}
