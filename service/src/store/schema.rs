//! The schema: the tables, and migrations numbered by SQLite's `user_version`. Each step
//! runs once, in one transaction, so a store written by an older faultline opens in a
//! newer one (and a crash mid-migration leaves the old version intact).

use rusqlite::Connection;

use super::sql::sql;
use crate::application::ports::StoreError;

/// Version 1 of the schema: runs and their events.
const RUNS: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,
    experiment  TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    spec_json   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS events (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    seq     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
";

/// The outbox table. `UNIQUE (run_id, route)` is the deduplication: a route hears about a
/// run once, however many times the end of the run is observed.
const NOTIFICATIONS: &str = "
CREATE TABLE IF NOT EXISTS notifications (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(id),
    route       TEXT NOT NULL,
    channel     TEXT NOT NULL,
    destination TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at_ms  INTEGER NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    created_ms  INTEGER NOT NULL,
    done_ms     INTEGER,
    UNIQUE (run_id, route)
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications(status, next_at_ms);
";

/// Added by schema version 2: the experiment catalog, webhook deliveries and the
/// emergency stop.
const CATALOG: &str = "
CREATE TABLE IF NOT EXISTS experiments (
    name        TEXT PRIMARY KEY,
    text        TEXT NOT NULL,
    source      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    uuid        TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    response    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS halt (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
);
";

/// Added by schema version 3: each run's active faults, written before a fault is applied
/// and deleted once it is recovered, so a restarted service confirms exactly those.
const ACTIVE_FAULTS: &str = "
CREATE TABLE IF NOT EXISTS active_faults (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    fault       TEXT NOT NULL,
    body        TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, fault)
);
";

/// Schema version 4: the audit log.
/// (Append-only: the triggers refuse UPDATE and DELETE.)
const AUDIT: &str = "
CREATE TABLE IF NOT EXISTS audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms          INTEGER NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    actor_project  TEXT,
    actor_ref      TEXT,
    actor_pipeline TEXT,
    action         TEXT NOT NULL,
    object         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at_ms);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// Schema version 5: the CI ID-token `jti`s that started a run, until their tokens
/// expire (`spent_tokens.rs`).
const SPENT_TOKENS: &str = "
CREATE TABLE IF NOT EXISTS spent_tokens (
    jti     TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spent_tokens_expires ON spent_tokens(expires);
";

/// Schema version 6: people's sign-in sessions, by the SHA-256 of their id, until they
/// expire (`sessions.rs`), and sign-ins in flight by the SHA-256 of their state
/// (`logins.rs`).
const SESSIONS: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    key          TEXT PRIMARY KEY,
    session_json TEXT NOT NULL,
    expires      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires);
CREATE TABLE IF NOT EXISTS pending_logins (
    key        TEXT PRIMARY KEY,
    login_json TEXT NOT NULL,
    expires    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_logins_expires ON pending_logins(expires);
";

/// The runs not finished yet, oldest first: those a killed process left behind.
const UNFINISHED: &str = "
CREATE INDEX IF NOT EXISTS runs_unfinished ON runs(created_at) WHERE finished_at IS NULL;
";

/// The newest schema version.
const VERSION: usize = 7;

/// The SQL taking the schema from version `from` to `from + 1`. Stores made before the
/// numbering (version 0) already hold step 0's tables, hence its `IF NOT EXISTS`.
fn step(from: usize) -> String {
    match from {
        // Runs, events and the notification outbox.
        0 => format!("{RUNS}{NOTIFICATIONS}"),
        // The GitLab event a run came from; the experiment catalog, webhook deliveries
        // (deduplication) and the emergency stop.
        1 => format!("ALTER TABLE runs ADD COLUMN gitlab_json TEXT;{CATALOG}"),
        // Each run's active faults (what a restart confirms recovered).
        2 => ACTIVE_FAULTS.to_string(),
        // The audit log (append-only).
        3 => AUDIT.to_string(),
        // The spent CI ID-token `jti`s.
        4 => SPENT_TOKENS.to_string(),
        // People's sign-in sessions and sign-ins in flight.
        5 => SESSIONS.to_string(),
        // The runs no process finished, which every `faultline run` looks for as it
        // starts (`fail_interrupted`): without it, a scan of every run's row, overflow
        // pages included, that grew with the store (0.4 ms at 250 runs).
        _ => UNFINISHED.to_string(),
    }
}

/// Brings the store's schema to the newest version.
pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql("read schema version"))?;
    for from in usize::try_from(version).unwrap_or(0)..VERSION {
        let batch = format!(
            "BEGIN;\n{}\nPRAGMA user_version = {};\nCOMMIT;",
            step(from),
            from + 1
        );
        conn.execute_batch(&batch).map_err(sql("migrate"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_made_before_versioning_gains_the_new_columns_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // What the previous release created: version 0, step 1's tables.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(RUNS).unwrap();
            c.execute_batch(NOTIFICATIONS).unwrap();
            c.execute(
                "INSERT INTO runs (id, experiment, state, spec_json, created_at) VALUES ('old', 'exp', 'passed', '{}', '2026-11-25T10:00:00+00:00')",
                [],
            )
            .unwrap();
        }
        let s = crate::store::Store::open(&path).unwrap();
        let old = s.run("old").unwrap();
        assert_eq!(old.experiment, "exp");
        assert_eq!(old.gitlab, None);
        drop(s);
        // Opening again is a no-op.
        let s = crate::store::Store::open(&path).unwrap();
        assert_eq!(s.list_runs(10).unwrap().len(), 1);
        let v: i64 = s
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION as i64);
    }

    #[test]
    fn finding_interrupted_runs_reads_only_the_unfinished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::store::Store::open(&dir.path().join("f.db")).unwrap();
        for i in 0..3 {
            s.create_run(&format!("r{i}"), "exp", "{}").unwrap();
        }
        s.record(
            "r1",
            &crate::domain::RunEvent::StateChanged {
                to: crate::domain::RunState::Error,
                reason: "x".into(),
            },
        )
        .unwrap();
        let plan: String = s
            .conn()
            .query_row(
                &format!(
                    "EXPLAIN QUERY PLAN {}",
                    super::super::sqlite::UNFINISHED_RUNS
                ),
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("runs_unfinished"), "plan: {plan}");
        assert_eq!(s.fail_interrupted("killed").unwrap(), ["r0", "r2"]);
        assert!(s.fail_interrupted("killed").unwrap().is_empty());
    }

    #[test]
    fn a_version_2_store_gains_the_active_faults_table_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            // What the previous release created: version 2.
            let c = Connection::open(&path).unwrap();
            for from in 0..2 {
                c.execute_batch(&step(from)).unwrap();
            }
            c.execute_batch("PRAGMA user_version = 2;").unwrap();
            c.execute(
                "INSERT INTO runs (id, experiment, state, spec_json, created_at) VALUES ('old', 'exp', 'injecting', '{}', '2026-11-25T10:00:00+00:00')",
                [],
            )
            .unwrap();
        }
        let s = crate::store::Store::open(&path).unwrap();
        assert_eq!(s.run("old").unwrap().experiment, "exp");
        assert!(s.active_faults().unwrap().is_empty());
        let v: i64 = s
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION as i64);
    }
}
