//! The verdict trend per experiment on SQLite: each experiment's newest finished runs,
//! picked by a window over the runs table in one query, so the console's trend strip
//! does not depend on which page of runs it shows.

use rusqlite::params;

use super::sql::{parse_time, sql};
use super::sqlite::Store;
use crate::application::ports::{StoreError, VerdictPoint};
use crate::domain::RunState;

/// The query both stores run (window functions are in SQLite since 3.25 and PostgreSQL
/// since 8.4): the runs with a verdict, numbered newest first within their experiment.
/// `collate` orders the RFC 3339 text byte by byte on PostgreSQL (`COLLATE "C"`; a
/// locale's collation skips punctuation); SQLite compares bytes already.
pub(super) fn trends_sql(collate: &str) -> String {
    format!(
        "SELECT experiment, id, state, created_at FROM (
            SELECT experiment, id, state, created_at,
                   ROW_NUMBER() OVER (PARTITION BY experiment
                                      ORDER BY created_at{collate} DESC, id DESC) AS n
            FROM runs WHERE state IN ('passed', 'failed', 'aborted', 'error')
        ) AS ranked WHERE n <= $1 ORDER BY experiment, created_at{collate} DESC, id DESC"
    )
}

/// A stored row as a point, or the column that is not what the store writes.
pub(super) fn point(
    experiment: String,
    id: String,
    state: &str,
    created: &str,
) -> Result<VerdictPoint, StoreError> {
    let corrupt = |what, detail: String| StoreError::Corrupt {
        run: id.clone(),
        what,
        detail,
    };
    let verdict = RunState::parse(state).ok_or_else(|| corrupt("state", state.to_string()))?;
    let created_at = parse_time(created).map_err(|e| corrupt("created_at", e.to_string()))?;
    Ok(VerdictPoint {
        experiment,
        verdict,
        created_at,
        id,
    })
}

impl Store {
    /// Each experiment's `last` newest verdicts: experiments by name, runs newest first.
    pub fn verdict_trends(&self, last: u32) -> Result<Vec<VerdictPoint>, StoreError> {
        let conn = self.conn();
        // SQLite reads `$1` as a numbered parameter, like `?1`.
        let mut stmt = conn
            .prepare_cached(&trends_sql(""))
            .map_err(sql("verdict trends"))?;
        let rows = stmt
            .query_map(params![last], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(sql("verdict trends"))?;
        rows.map(|r| {
            let (experiment, id, state, created) = r.map_err(sql("verdict trends"))?;
            point(experiment, id, &state, &created)
        })
        .collect()
    }
}
