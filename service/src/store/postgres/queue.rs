//! Work the replicas share exactly once: webhook deliveries (the uuid is the primary key,
//! so of two replicas receiving GitLab's retry at once, one inserts and the other finds
//! the first's row) and the notification outbox (due rows are claimed with
//! `FOR UPDATE SKIP LOCKED`, so each is sent by one replica).

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use tokio_postgres::Row;

use super::cached::Cached;
use super::connect::{PgStore, pg};
use crate::application::ports::{
    Delivery, DeliveryLog, NewNotification, NotificationQueue, NotificationRow, NotificationStatus,
    PRUNE_AT_MOST, StoreError,
};
use crate::domain::RunState;

/// How long a claimed notification is hidden from the other replicas' workers: longer
/// than one send (the channels time out well before), short enough that a replica that
/// died mid-send is retried soon.
const CLAIM_MS: i64 = 60_000;

const COLUMNS: &str = "id, run_id, route, channel, destination, verdict, status, attempts, \
                       next_at_ms, last_error, done_ms";

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn notification(r: &Row) -> Result<NotificationRow, StoreError> {
    let run: String = r.get(1);
    let verdict: String = r.get(5);
    let status: String = r.get(6);
    let corrupt = |what, detail: &str| StoreError::Corrupt {
        run: run.clone(),
        what,
        detail: detail.to_string(),
    };
    let attempts: i64 = r.get(7);
    let done: Option<i64> = r.get(10);
    Ok(NotificationRow {
        verdict: RunState::parse(&verdict)
            .ok_or_else(|| corrupt("notification verdict", &verdict))?,
        status: NotificationStatus::parse(&status)
            .ok_or_else(|| corrupt("notification status", &status))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_at: time(r.get(8)),
        done_at: done.map(time),
        id: r.get(0),
        route: r.get(2),
        channel: r.get(3),
        destination: r.get(4),
        last_error: r.get(9),
        run,
    })
}

impl DeliveryLog for PgStore {
    fn claim_delivery(
        &self,
        uuid: &str,
        event: &str,
    ) -> BoxFuture<'static, Result<Option<Delivery>, StoreError>> {
        let (uuid, event) = (uuid.to_string(), event.to_string());
        self.call_async(move |inner| async move {
            let client = inner.client().await?;
            // A concurrent insert of the same uuid waits for the first to commit, then
            // does nothing: exactly one replica sees its row inserted.
            let inserted = client
                .execute_cached(
                    "INSERT INTO webhook_deliveries (uuid, event, received_at) VALUES ($1, $2, $3) ON CONFLICT (uuid) DO NOTHING",
                    &[&uuid, &event, &Utc::now().to_rfc3339()],
                )
                .await
                .map_err(pg("claim delivery"))?;
            if inserted == 1 {
                return Ok(None);
            }
            let r = client
                .query_one_cached(
                    "SELECT event, received_at, response FROM webhook_deliveries WHERE uuid = $1",
                    &[&uuid],
                )
                .await
                .map_err(pg("read delivery"))?;
            let received: &str = r.get(1);
            Ok(Some(Delivery {
                event: r.get(0),
                received_at: DateTime::parse_from_rfc3339(received)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| StoreError::Corrupt {
                        run: String::new(),
                        what: "delivery time",
                        detail: e.to_string(),
                    })?,
                response: r.get(2),
            }))
        })
    }

    fn finish_delivery(
        &self,
        uuid: &str,
        response: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let uuid = uuid.to_string();
        self.call_async(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached(
                    "UPDATE webhook_deliveries SET response = $2 WHERE uuid = $1",
                    &[&uuid, &response],
                )
                .await
                .map_err(pg("finish delivery"))?;
            Ok(())
        })
    }

    fn prune_deliveries(
        &self,
        before: DateTime<Utc>,
    ) -> BoxFuture<'static, Result<usize, StoreError>> {
        self.call_async(move |inner| async move {
            let client = inner.client().await?;
            // The oldest arrivals first, a bounded batch, as on SQLite.
            let n = client
                .execute_cached(
                    "DELETE FROM webhook_deliveries WHERE uuid IN \
                     (SELECT uuid FROM webhook_deliveries ORDER BY arrival LIMIT $2) \
                     AND received_at < $1",
                    &[&before.to_rfc3339(), &(PRUNE_AT_MOST as i64)],
                )
                .await
                .map_err(pg("prune deliveries"))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

impl PgStore {
    fn notifications_where(
        &self,
        op: &'static str,
        filter: &'static str,
        arg: Option<String>,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let sql = format!("SELECT {COLUMNS} FROM notifications {filter}");
            let rows = match &arg {
                Some(a) => client.query(&sql, &[a]).await,
                None => client.query(&sql, &[]).await,
            }
            .map_err(pg(op))?;
            rows.iter().map(notification).collect()
        })
    }

    fn update_notification(
        &self,
        op: &'static str,
        sql: &'static str,
        id: i64,
        attempts: u32,
        at_ms: i64,
        text: String,
    ) -> Result<(), StoreError> {
        self.call(move |inner| async move {
            let client = inner.client().await?;
            client
                .execute_cached(sql, &[&id, &i64::from(attempts), &at_ms, &text])
                .await
                .map_err(pg(op))?;
            Ok(())
        })
    }
}

impl NotificationQueue for PgStore {
    fn enqueue_notification(&self, n: &NewNotification<'_>) -> Result<bool, StoreError> {
        let values =
            [n.run, n.route, n.channel, n.destination, n.verdict.as_str()].map(str::to_string);
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let now = Utc::now().timestamp_millis();
            // UNIQUE (run_id, route): a route hears about a run once, whichever replica
            // observed its end.
            let n = client
                .execute_cached(
                    "INSERT INTO notifications (run_id, route, channel, destination, verdict, status, next_at_ms, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) ON CONFLICT (run_id, route) DO NOTHING",
                    &[&values[0], &values[1], &values[2], &values[3], &values[4], &now],
                )
                .await
                .map_err(pg("enqueue notification"))?;
            Ok(n == 1)
        })
    }

    /// Claims the due notifications for this replica: each row returned is hidden from
    /// the other replicas' workers for [`CLAIM_MS`] (its `next_at` moves on), and rows
    /// another replica is claiming at this moment are skipped, not waited for.
    fn due_notifications(&self, now: DateTime<Utc>) -> Result<Vec<NotificationRow>, StoreError> {
        let now = now.timestamp_millis();
        self.call(move |inner| async move {
            let client = inner.client().await?;
            let rows = client
                .query(
                    &format!(
                        "UPDATE notifications SET next_at_ms = $2 WHERE id IN \
                         (SELECT id FROM notifications WHERE status = 'pending' AND next_at_ms <= $1 \
                          ORDER BY next_at_ms, id LIMIT 100 FOR UPDATE SKIP LOCKED) \
                         RETURNING {COLUMNS}"
                    ),
                    &[&now, &(now + CLAIM_MS)],
                )
                .await
                .map_err(pg("claim due notifications"))?;
            let mut due = rows.iter().map(notification).collect::<Result<Vec<_>, _>>()?;
            due.sort_by_key(|n| n.id);
            Ok(due)
        })
    }

    fn pending_notifications(&self) -> Result<Vec<NotificationRow>, StoreError> {
        self.notifications_where(
            "read pending notifications",
            "WHERE status = 'pending' ORDER BY next_at_ms, id",
            None,
        )
    }

    fn notifications(&self, run: &str) -> Result<Vec<NotificationRow>, StoreError> {
        self.notifications_where(
            "read notifications",
            "WHERE run_id = $1 ORDER BY id",
            Some(run.to_string()),
        )
    }

    fn notification_sent(&self, id: i64, attempts: u32) -> Result<(), StoreError> {
        self.update_notification(
            "record notification sent",
            "UPDATE notifications SET status = 'sent', attempts = $2, done_ms = $3, last_error = $4 WHERE id = $1",
            id,
            attempts,
            Utc::now().timestamp_millis(),
            String::new(),
        )
    }

    fn notification_failed(&self, id: i64, attempts: u32, error: &str) -> Result<(), StoreError> {
        self.update_notification(
            "record notification failed",
            "UPDATE notifications SET status = 'failed', attempts = $2, done_ms = $3, last_error = $4 WHERE id = $1",
            id,
            attempts,
            Utc::now().timestamp_millis(),
            error.to_string(),
        )
    }

    fn notification_retry(
        &self,
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        self.update_notification(
            "record notification retry",
            "UPDATE notifications SET attempts = $2, next_at_ms = $3, last_error = $4 WHERE id = $1",
            id,
            attempts,
            next_at.timestamp_millis(),
            error.to_string(),
        )
    }
}
