//! Leases: each unfinished run is leased by the replica driving it, renewed by a
//! heartbeat every third of the TTL; a run whose lease lapsed is adopted by another
//! replica, which bumps its generation (fencing the old owner's writes out, `runs.rs`).
//! Chores one replica does for all (the scheduler) hold a named lease the same way.
//! Lease times are the database's clock (`now()`), so replicas' clocks need not agree.

use std::sync::Arc;

use super::cached::Cached;
use super::connect::{Inner, PgStore, pg};
use crate::application::ports::{RunLeases, StoreError};

/// Renews this replica's leases on its unfinished runs every third of the TTL, for as
/// long as the store lives. A failed renewal is logged and retried; if the database
/// stays away past the TTL, other replicas adopt the runs, and this one's next writes to
/// them fail (fenced).
pub(super) async fn heartbeat(inner: Arc<Inner>) {
    let every = inner.ttl / 3;
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = renew(&inner).await {
            tracing::warn!(error = %e, replica = %inner.replica, "could not renew the run leases; retrying");
        }
    }
}

async fn renew(inner: &Inner) -> Result<(), StoreError> {
    let client = inner.client().await?;
    client
        .execute_cached(
            "UPDATE runs SET lease_until = now() + make_interval(secs => $2) \
             WHERE owner = $1 AND finished_at IS NULL",
            &[&inner.replica, &inner.ttl.as_secs_f64()],
        )
        .await
        .map_err(pg("renew run leases"))?;
    Ok(())
}

impl RunLeases for PgStore {
    fn adopt_lapsed(&self) -> Result<Vec<String>, StoreError> {
        let adopted: Vec<(String, i64)> = self.call(|inner| async move {
            let client = inner.client().await?;
            // SKIP LOCKED: two replicas adopting at once split the lapsed runs between
            // them instead of queueing on the same rows; each run goes to one of them.
            // A replica never adopts its own runs: its engine still drives them.
            let rows = client
                .query_cached(
                    "UPDATE runs SET owner = $1, generation = generation + 1, \
                            lease_until = now() + make_interval(secs => $2) \
                     WHERE id IN (SELECT id FROM runs \
                                  WHERE finished_at IS NULL AND lease_until < now() AND owner <> $1 \
                                  ORDER BY created_at FOR UPDATE SKIP LOCKED) \
                     RETURNING id, generation",
                    &[&inner.replica, &inner.ttl.as_secs_f64()],
                )
                .await
                .map_err(pg("adopt lapsed runs"))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        let mut ids = Vec::with_capacity(adopted.len());
        for (id, generation) in adopted {
            self.inner.held().insert(id.clone(), generation);
            self.inner.adopted().insert(id.clone());
            ids.push(id);
        }
        Ok(ids)
    }

    fn leads(&self, chore: &str) -> Result<bool, StoreError> {
        let chore = chore.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            // Taken when free or lapsed, renewed when ours; a row back means we hold it.
            let row = client
                .query_opt_cached(
                    "INSERT INTO chore_leases (name, owner, until) \
                     VALUES ($1, $2, now() + make_interval(secs => $3)) \
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until \
                     WHERE chore_leases.owner = excluded.owner OR chore_leases.until < now() \
                     RETURNING owner",
                    &[&chore, &inner.replica, &inner.ttl.as_secs_f64()],
                )
                .await
                .map_err(pg("take chore lease"))?;
            Ok(row.is_some())
        })
    }
}
