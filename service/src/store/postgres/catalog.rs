//! The experiment catalog and the emergency stop on PostgreSQL. The stop is one row every
//! replica reads before it starts a run, so engaging it through any replica refuses new
//! runs on all of them from the next start on.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::cached::Cached;
use super::connect::{PgStore, pg};
use crate::application::ports::{CatalogStore, ExperimentRow, Halt, HaltStore, StoreError};

fn time(what: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            run: String::new(),
            what,
            detail: format!("{text}: {e}"),
        })
}

fn experiment(r: &Row) -> Result<ExperimentRow, StoreError> {
    Ok(ExperimentRow {
        name: r.get(0),
        text: r.get(1),
        source: r.get(2),
        updated_at: time("experiment time", r.get(3))?,
    })
}

impl CatalogStore for PgStore {
    fn put_experiment(&self, name: &str, text: &str, source: &str) -> Result<bool, StoreError> {
        let (name, text, source) = (name.to_string(), text.to_string(), source.to_string());
        self.call(move |inner| async move {
            let client = inner.client().await?;
            // xmax = 0 on the returned row: it was inserted, not updated.
            let row = client
                .query_one_cached(
                    "INSERT INTO experiments (name, text, source, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (name) DO UPDATE SET text = excluded.text, source = excluded.source, updated_at = excluded.updated_at
                     RETURNING (xmax = 0)",
                    &[&name, &text, &source, &Utc::now().to_rfc3339()],
                )
                .await
                .map_err(pg("write experiment"))?;
            Ok(row.get(0))
        })
    }

    fn experiment(&self, name: &str) -> Result<Option<ExperimentRow>, StoreError> {
        let name = name.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .query_opt_cached(
                    "SELECT name, text, source, updated_at FROM experiments WHERE name = $1",
                    &[&name],
                )
                .await
                .map_err(pg("read experiment"))?
                .map(|r| experiment(&r))
                .transpose()
        })
    }

    fn list_experiments(&self) -> Result<Vec<ExperimentRow>, StoreError> {
        self.call(|inner| async move {
            let client = inner.client().await?;
            let rows = client
                .query_cached(
                    "SELECT name, text, source, updated_at FROM experiments ORDER BY name",
                    &[],
                )
                .await
                .map_err(pg("list experiments"))?;
            rows.iter().map(experiment).collect()
        })
    }

    fn experiment_names(&self) -> Result<Vec<String>, StoreError> {
        self.call(|inner| async move {
            let client = inner.client().await?;
            let rows = client
                .query_cached("SELECT name FROM experiments ORDER BY name", &[])
                .await
                .map_err(pg("list experiments"))?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn delete_experiment(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let n = client
                .execute_cached("DELETE FROM experiments WHERE name = $1", &[&name])
                .await
                .map_err(pg("delete experiment"))?;
            Ok(n == 1)
        })
    }
}

impl HaltStore for PgStore {
    fn halt(&self, reason: &str, actor: &str) -> Result<Halt, StoreError> {
        let (reason, actor) = (reason.to_string(), actor.to_string());
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached(
                    "INSERT INTO halt (id, reason, actor, at) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
                    &[&reason, &actor, &Utc::now().to_rfc3339()],
                )
                .await
                .map_err(pg("engage emergency stop"))?;
            Ok(())
        })?;
        self.halted()?.ok_or_else(|| StoreError::Corrupt {
            run: String::new(),
            what: "halt",
            detail: "written but not readable".into(),
        })
    }

    fn release_halt(&self) -> Result<Option<Halt>, StoreError> {
        self.call(|inner| async move {
            let client = inner.client().await?;
            client
                .query_opt_cached("DELETE FROM halt RETURNING reason, actor, at", &[])
                .await
                .map_err(pg("release emergency stop"))?
                .map(|r| halt(&r))
                .transpose()
        })
    }

    fn halted(&self) -> Result<Option<Halt>, StoreError> {
        self.call(|inner| async move {
            let client = inner.client().await?;
            client
                .query_opt_cached("SELECT reason, actor, at FROM halt WHERE id = 1", &[])
                .await
                .map_err(pg("read emergency stop"))?
                .map(|r| halt(&r))
                .transpose()
        })
    }
}

fn halt(r: &Row) -> Result<Halt, StoreError> {
    Ok(Halt {
        reason: r.get(0),
        actor: r.get(1),
        at: time("halt time", r.get(2))?,
    })
}
