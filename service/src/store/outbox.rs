//! The notification outbox: one row per run per route, written when the run ends and
//! updated by the sending worker. A verdict is in this table before anyone tries to send
//! it, so a channel that is down, or a process that dies, cannot lose it.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, params};

use super::sql::sql;
use super::sqlite::Store;
use crate::application::ports::{NewNotification, NotificationRow, NotificationStatus, StoreError};
use crate::domain::RunState;

const COLUMNS: &str = "id, run_id, route, channel, destination, verdict, status, attempts, \
                       next_at_ms, last_error, done_ms";

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

type Raw = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<i64>,
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Raw::try_from(r)
}

fn decode(
    (id, run, route, channel, destination, verdict, status, attempts, next, last_error, done): Raw,
) -> Result<NotificationRow, StoreError> {
    let corrupt = |what, detail: &str| StoreError::Corrupt {
        run: run.clone(),
        what,
        detail: detail.to_string(),
    };
    Ok(NotificationRow {
        verdict: RunState::parse(&verdict)
            .ok_or_else(|| corrupt("notification verdict", &verdict))?,
        status: NotificationStatus::parse(&status)
            .ok_or_else(|| corrupt("notification status", &status))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_at: time(next),
        done_at: done.map(time),
        id,
        run,
        route,
        channel,
        destination,
        last_error,
    })
}

impl Store {
    /// Writes `n` as pending, due now. Returns false when the run already has a
    /// notification for that route (deduplicated; the existing one is left as it is).
    pub fn enqueue_notification(&self, n: &NewNotification<'_>) -> Result<bool, StoreError> {
        let now = ms(Utc::now());
        let inserted = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO notifications \
                 (run_id, route, channel, destination, verdict, status, next_at_ms, created_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                params![
                    n.run,
                    n.route,
                    n.channel,
                    n.destination,
                    n.verdict.as_str(),
                    now
                ],
            )
            .map_err(sql("enqueue notification"))?;
        Ok(inserted == 1)
    }

    fn query_notifications(
        &self,
        op: &'static str,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM notifications {filter}"))
            .map_err(sql(op))?;
        let rows = stmt.query_map(args, raw).map_err(sql(op))?;
        rows.map(|r| r.map_err(sql(op)).and_then(decode)).collect()
    }

    /// Pending notifications due at or before `now`, oldest first.
    pub fn due_notifications(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        self.query_notifications(
            "read due notifications",
            "WHERE status = 'pending' AND next_at_ms <= ?1 ORDER BY next_at_ms, id",
            [ms(now)],
        )
    }

    /// Every pending notification, soonest first.
    pub fn pending_notifications(&self) -> Result<Vec<NotificationRow>, StoreError> {
        self.query_notifications(
            "read pending notifications",
            "WHERE status = 'pending' ORDER BY next_at_ms, id",
            [],
        )
    }

    /// A run's notifications, in the order they were written.
    pub fn notifications(&self, run: &str) -> Result<Vec<NotificationRow>, StoreError> {
        self.query_notifications("read notifications", "WHERE run_id = ?1 ORDER BY id", [run])
    }

    /// When the soonest pending notification is due, if any is pending.
    pub fn next_notification_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = self
            .conn()
            .query_row(
                "SELECT MIN(next_at_ms) FROM notifications WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read next notification"))?
            .flatten();
        Ok(next.map(time))
    }

    /// Records a delivery after `attempts` attempts.
    pub fn notification_sent(&self, id: i64, attempts: u32) -> Result<(), StoreError> {
        self.finish(id, attempts, NotificationStatus::Sent, "")
    }

    /// Records that the notification was given up on, and why.
    pub fn notification_failed(
        &self,
        id: i64,
        attempts: u32,
        error: &str,
    ) -> Result<(), StoreError> {
        self.finish(id, attempts, NotificationStatus::Failed, error)
    }

    fn finish(
        &self,
        id: i64,
        attempts: u32,
        status: NotificationStatus,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE notifications SET status = ?2, attempts = ?3, last_error = ?4, done_ms = ?5 \
                 WHERE id = ?1",
                params![id, status.as_str(), attempts, error, ms(Utc::now())],
            )
            .map_err(sql("finish notification"))?;
        Ok(())
    }

    /// Records a failed attempt that will be retried at `next_at`.
    pub fn notification_retry(
        &self,
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE notifications SET attempts = ?2, next_at_ms = ?3, last_error = ?4 WHERE id = ?1",
                params![id, attempts, ms(next_at), error],
            )
            .map_err(sql("reschedule notification"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_run() -> Store {
        let s = Store::open_in_memory().unwrap();
        s.create_run("r1", "exp", "{}").unwrap();
        s
    }

    fn new(route: &str) -> NewNotification<'_> {
        NewNotification {
            run: "r1",
            route,
            channel: "email",
            destination: "{}",
            verdict: RunState::Failed,
        }
    }

    #[test]
    fn one_notification_per_run_per_route() {
        let s = store_with_run();
        assert!(s.enqueue_notification(&new("email:a@x")).unwrap());
        assert!(
            !s.enqueue_notification(&new("email:a@x")).unwrap(),
            "deduplicated"
        );
        assert!(s.enqueue_notification(&new("slack:sre")).unwrap());
        let rows = s.notifications("r1").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.status == NotificationStatus::Pending));
        assert_eq!(rows[0].verdict, RunState::Failed);
    }

    #[test]
    fn retries_move_the_due_time_and_finished_rows_leave_the_queue() {
        let s = store_with_run();
        s.enqueue_notification(&new("email:a@x")).unwrap();
        s.enqueue_notification(&new("slack:sre")).unwrap();
        let now = Utc::now();
        let due = s.due_notifications(now).unwrap();
        assert_eq!(due.len(), 2);
        let later = now + chrono::Duration::seconds(60);
        s.notification_retry(due[0].id, 1, later, "connection refused")
            .unwrap();
        let due_now = s.due_notifications(now).unwrap();
        assert_eq!(due_now.len(), 1, "the retried one waits");
        assert_eq!(
            s.next_notification_due().unwrap().map(ms),
            Some(ms(due[1].next_at))
        );
        s.notification_sent(due[1].id, 1).unwrap();
        assert_eq!(s.next_notification_due().unwrap().map(ms), Some(ms(later)));
        s.notification_failed(due[0].id, 8, "gave up").unwrap();
        assert!(s.pending_notifications().unwrap().is_empty());
        assert_eq!(s.next_notification_due().unwrap(), None);
        let rows = s.notifications("r1").unwrap();
        assert_eq!(rows[0].status, NotificationStatus::Failed);
        assert_eq!(
            (rows[0].attempts, rows[0].last_error.as_str()),
            (8, "gave up")
        );
        assert_eq!(rows[1].status, NotificationStatus::Sent);
        assert!(rows[1].done_at.is_some());
    }
}
