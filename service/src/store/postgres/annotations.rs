//! The Grafana annotation queue every replica shares (`AnnotationQueue`): one row per
//! operation, in the order the run produced them. A replica claims the oldest operation
//! nobody holds whose run has nothing older waiting (`FOR UPDATE SKIP LOCKED`: two
//! replicas claiming at once get different rows), sends it, and marks it done with
//! Grafana's id for a create. A claim lapses after its hold, so the operations of a
//! replica that died are sent by another. A replica that dies after Grafana answered but
//! before marking the row done leaves it to be sent again once its claim lapses: at least
//! once, as every outbox (docs/architecture.md, "The store").

use std::time::Duration;

use super::cached::Cached;
use super::connect::{PgStore, pg, uncertain};
use crate::application::ports::{AnnotationQueue, ClaimedAnnotation, StoreError};

impl AnnotationQueue for PgStore {
    fn push_annotation(&self, run: &str, key: &str, op: &str) -> Result<(), StoreError> {
        let (run, key, op) = (run.to_string(), key.to_string(), op.to_string());
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached(
                    "INSERT INTO annotation_queue (run_id, key, op) VALUES ($1, $2, $3)",
                    &[&run, &key, &op],
                )
                .await
                .map_err(uncertain("queue annotation"))?;
            Ok(())
        })
    }

    fn claim_annotation(&self, hold: Duration) -> Result<Option<ClaimedAnnotation>, StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let row = client
                .query_opt_cached(
                    "UPDATE annotation_queue SET claimed_by = $1, \
                            claimed_until = now() + make_interval(secs => $2) \
                     WHERE seq = (SELECT o.seq FROM annotation_queue o \
                                  WHERE NOT o.done \
                                    AND (o.claimed_until IS NULL OR o.claimed_until < now()) \
                                    AND NOT EXISTS (SELECT 1 FROM annotation_queue p \
                                                    WHERE p.run_id = o.run_id AND p.seq < o.seq \
                                                      AND NOT p.done) \
                                  ORDER BY o.seq LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     RETURNING seq, op",
                    &[&inner.replica, &hold.as_secs_f64()],
                )
                .await
                .map_err(pg("claim annotation"))?;
            Ok(row.map(|r| ClaimedAnnotation {
                seq: r.get(0),
                op: r.get(1),
            }))
        })
    }

    fn hold_annotation(&self, seq: i64, hold: Duration) -> Result<bool, StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let n = client
                .execute_cached(
                    "UPDATE annotation_queue SET claimed_until = now() + make_interval(secs => $3) \
                     WHERE seq = $1 AND claimed_by = $2 AND NOT done",
                    &[&seq, &inner.replica, &hold.as_secs_f64()],
                )
                .await
                .map_err(pg("hold annotation"))?;
            Ok(n == 1)
        })
    }

    fn annotation_done(&self, seq: i64, grafana_id: Option<i64>) -> Result<(), StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached(
                    "UPDATE annotation_queue SET done = true, grafana_id = $2, claimed_until = NULL \
                     WHERE seq = $1",
                    &[&seq, &grafana_id],
                )
                .await
                .map_err(pg("mark annotation sent"))?;
            Ok(())
        })
    }

    fn annotations_forget(&self, seq: i64, run: &str) -> Result<(), StoreError> {
        let run = run.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached(
                    "DELETE FROM annotation_queue WHERE run_id = $1 AND (done OR seq = $2)",
                    &[&run, &seq],
                )
                .await
                .map_err(pg("forget annotations"))?;
            Ok(())
        })
    }

    fn annotation_id(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let key = key.to_string();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let row = client
                .query_opt_cached(
                    "SELECT grafana_id FROM annotation_queue \
                     WHERE key = $1 AND grafana_id IS NOT NULL ORDER BY seq DESC LIMIT 1",
                    &[&key],
                )
                .await
                .map_err(pg("read annotation id"))?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn annotations_waiting(&self) -> Result<u64, StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let n: i64 = client
                .query_one_cached("SELECT COUNT(*) FROM annotation_queue WHERE NOT done", &[])
                .await
                .map_err(pg("count annotations"))?
                .get(0);
            Ok(n.unsigned_abs())
        })
    }
}
