//! The verdict trend per experiment on PostgreSQL: the same window query as SQLite's
//! (`store/trends.rs`), so both stores pick the same runs.

use super::super::trends::{point, trends_sql};
use super::connect::{PgStore, pg};
use crate::application::ports::{StoreError, VerdictPoint};

/// Each experiment's `last` newest verdicts: experiments by name, runs newest first.
pub(super) fn verdict_trends(store: &PgStore, last: u32) -> Result<Vec<VerdictPoint>, StoreError> {
    let last = i64::from(last);
    store.call(move |inner| async move {
        let client = inner.client().await?;
        let rows = client
            .query(&trends_sql(" COLLATE \"C\""), &[&last])
            .await
            .map_err(pg("verdict trends"))?;
        rows.iter()
            .map(|r| point(r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    })
}
