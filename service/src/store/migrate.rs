//! Schema migrations, numbered by SQLite's `user_version`. Each step runs once, in one
//! transaction, so a store written by an older faultline opens in a newer one (and a
//! crash mid-migration leaves the old version intact).

use rusqlite::Connection;

use super::sqlite::sql;
use super::{StoreError, catalog, outbox, sqlite};

/// The newest schema version.
const VERSION: usize = 2;

/// The SQL taking the schema from version `from` to `from + 1`. Stores made before the
/// numbering (version 0) already hold step 0's tables, hence its `IF NOT EXISTS`.
fn step(from: usize) -> String {
    match from {
        // Runs, events and the notification outbox.
        0 => format!("{}{}", sqlite::SCHEMA, outbox::SCHEMA),
        // The GitLab event a run came from; the experiment catalog, webhook deliveries
        // (deduplication) and the emergency stop.
        _ => format!(
            "ALTER TABLE runs ADD COLUMN gitlab_json TEXT;{}",
            catalog::SCHEMA
        ),
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
            c.execute_batch(sqlite::SCHEMA).unwrap();
            c.execute_batch(outbox::SCHEMA).unwrap();
            c.execute(
                "INSERT INTO runs (id, experiment, state, spec_json, created_at) VALUES ('old', 'exp', 'passed', '{}', '2026-11-25T10:00:00+00:00')",
                [],
            )
            .unwrap();
        }
        let s = super::super::Store::open(&path).unwrap();
        let old = s.run("old").unwrap();
        assert_eq!(old.experiment, "exp");
        assert_eq!(old.gitlab, None);
        drop(s);
        // Opening again is a no-op.
        let s = super::super::Store::open(&path).unwrap();
        assert_eq!(s.list_runs(10).unwrap().len(), 1);
        let v: i64 = s
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION as i64);
    }
}
