//! The store's smaller tables: the experiment catalog (what webhooks and the API run by
//! name) and the emergency stop (it must survive a restart, or a crash would re-open the
//! gate an operator closed). The webhook deliveries table is created here too; it is
//! written by [`super::deliveries`].

use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use super::sql::{corrupt, parse_time, sql};
use super::sqlite::Store;
use crate::application::ports::{ExperimentRow, Halt, StoreError};

impl Store {
    /// Writes experiment `name` (replacing it); returns true if it is new.
    pub fn put_experiment(&self, name: &str, text: &str, source: &str) -> Result<bool, StoreError> {
        let conn = self.conn();
        let existed: bool = conn
            .query_row("SELECT 1 FROM experiments WHERE name = ?1", [name], |_| {
                Ok(())
            })
            .optional()
            .map_err(sql("read experiment"))?
            .is_some();
        conn.execute(
            "INSERT INTO experiments (name, text, source, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET text = excluded.text, source = excluded.source, updated_at = excluded.updated_at",
            params![name, text, source, Utc::now().to_rfc3339()],
        )
        .map_err(sql("write experiment"))?;
        Ok(!existed)
    }

    /// Experiment `name`, if the catalog has it.
    pub fn experiment(&self, name: &str) -> Result<Option<ExperimentRow>, StoreError> {
        let conn = self.conn();
        let row = conn
            .prepare_cached(
                "SELECT name, text, source, updated_at FROM experiments WHERE name = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([name], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
                })
                .optional()
            })
            .map_err(sql("read experiment"))?;
        row.map(experiment_row).transpose()
    }

    /// Every experiment, by name.
    pub fn list_experiments(&self) -> Result<Vec<ExperimentRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name, text, source, updated_at FROM experiments ORDER BY name")
            .map_err(sql("list experiments"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
            })
            .map_err(sql("list experiments"))?;
        rows.map(|r| r.map_err(sql("list experiments")).and_then(experiment_row))
            .collect()
    }

    /// Every experiment's name, sorted (what webhook rules match against: no documents read).
    pub fn experiment_names(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name FROM experiments ORDER BY name")
            .map_err(sql("list experiment names"))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(sql("list experiment names"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list experiment names"))
    }

    /// Removes experiment `name`; false if there was none. Its past runs stay.
    pub fn delete_experiment(&self, name: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM experiments WHERE name = ?1", [name])
            .map_err(sql("delete experiment"))?;
        Ok(n > 0)
    }

    /// Engages the emergency stop (keeping the first reason if it already is).
    pub fn halt(&self, reason: &str, actor: &str) -> Result<Halt, StoreError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO halt (id, reason, actor, at) VALUES (1, ?1, ?2, ?3)",
                params![reason, actor, Utc::now().to_rfc3339()],
            )
            .map_err(sql("engage emergency stop"))?;
        self.halted()?.ok_or_else(|| StoreError::Corrupt {
            run: String::new(),
            what: "halt",
            detail: "written but not readable".into(),
        })
    }

    /// Releases the emergency stop; returns what was engaged, if anything.
    pub fn release_halt(&self) -> Result<Option<Halt>, StoreError> {
        let was = self.halted()?;
        self.conn()
            .execute("DELETE FROM halt", [])
            .map_err(sql("release emergency stop"))?;
        Ok(was)
    }

    /// The emergency stop, if engaged.
    pub fn halted(&self) -> Result<Option<Halt>, StoreError> {
        // Read on every webhook and API start: a cached statement skips compiling the SQL.
        let conn = self.conn();
        let row: Option<(String, String, String)> = conn
            .prepare_cached("SELECT reason, actor, at FROM halt WHERE id = 1")
            .and_then(|mut stmt| {
                stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(sql("read emergency stop"))?;
        row.map(|(reason, actor, at)| {
            Ok(Halt {
                reason,
                actor,
                at: parse_time(&at).map_err(corrupt("halt time"))?,
            })
        })
        .transpose()
    }
}

fn experiment_row(
    (name, text, source, at): (String, String, String, String),
) -> Result<ExperimentRow, StoreError> {
    Ok(ExperimentRow {
        updated_at: parse_time(&at).map_err(corrupt("experiment time"))?,
        name,
        text,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiments_are_written_replaced_listed_and_deleted() {
        let s = Store::open_in_memory().unwrap();
        assert!(s.put_experiment("b", "v1", "api").unwrap());
        assert!(!s.put_experiment("b", "v2", "api").unwrap());
        assert!(s.put_experiment("a", "x", "examples/a.yaml").unwrap());
        assert_eq!(s.experiment("b").unwrap().unwrap().text, "v2");
        let names: Vec<String> = s
            .list_experiments()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(s.delete_experiment("b").unwrap());
        assert!(!s.delete_experiment("b").unwrap());
        assert_eq!(s.experiment("b").unwrap(), None);
    }

    #[test]
    fn the_emergency_stop_survives_a_reopen_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        {
            let s = Store::open(&path).unwrap();
            let h = s.halt("bad day", "admin").unwrap();
            assert_eq!(h.reason, "bad day");
            // A second stop keeps the first reason.
            assert_eq!(s.halt("again", "x").unwrap().reason, "bad day");
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.halted().unwrap().unwrap().actor, "admin");
        assert!(s.release_halt().unwrap().is_some());
        assert_eq!(s.halted().unwrap(), None);
        assert_eq!(s.release_halt().unwrap(), None);
    }
}
