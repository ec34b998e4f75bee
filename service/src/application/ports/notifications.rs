//! The notification queue: one row per run per route, written when the run ends and
//! updated by the sending worker, so a channel that is down, or a process that dies,
//! cannot lose a verdict.

use chrono::{DateTime, Utc};

use super::store_error::StoreError;
use crate::domain::RunState;

/// Where a notification is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Not delivered yet; the worker sends it at `next_at`.
    Pending,
    /// Delivered.
    Sent,
    /// Gave up: the retry budget ran out or the receiver refused it for good.
    Failed,
}

impl NotificationStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Pending => "pending",
            NotificationStatus::Sent => "sent",
            NotificationStatus::Failed => "failed",
        }
    }

    /// Reads [`NotificationStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One notification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRow {
    /// Row id.
    pub id: i64,
    /// The run it tells about.
    pub run: String,
    /// The route's key (unique per run): channel kind and destination.
    pub route: String,
    /// Channel kind: `email`, `slack`, `webhook`.
    pub channel: String,
    /// The resolved destination as JSON (no secrets: those stay in the config).
    pub destination: String,
    /// The verdict it reports.
    pub verdict: RunState,
    /// Pending, sent or failed.
    pub status: NotificationStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the worker should try next (pending only).
    pub next_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: String,
    /// When it was sent or given up on.
    pub done_at: Option<DateTime<Utc>>,
}

/// A notification to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// Run id.
    pub run: &'a str,
    /// Route key, unique per run.
    pub route: &'a str,
    /// Channel kind.
    pub channel: &'a str,
    /// Destination as JSON.
    pub destination: &'a str,
    /// The run's verdict.
    pub verdict: RunState,
}

/// Where queued notifications are kept.
pub trait NotificationQueue: Send + Sync {
    /// Writes `n` as pending, due now. Returns false when the run already has a
    /// notification for that route (deduplicated; the existing one is left as it is).
    fn enqueue_notification(&self, n: &NewNotification<'_>) -> Result<bool, StoreError>;

    /// Pending notifications due at or before `now`, oldest first.
    fn due_notifications(&self, now: DateTime<Utc>) -> Result<Vec<NotificationRow>, StoreError>;

    /// Every pending notification, soonest first.
    fn pending_notifications(&self) -> Result<Vec<NotificationRow>, StoreError>;

    /// A run's notifications, in the order they were written.
    fn notifications(&self, run: &str) -> Result<Vec<NotificationRow>, StoreError>;

    /// Records a delivery after `attempts` attempts.
    fn notification_sent(&self, id: i64, attempts: u32) -> Result<(), StoreError>;

    /// Records that the notification was given up on, and why.
    fn notification_failed(&self, id: i64, attempts: u32, error: &str) -> Result<(), StoreError>;

    /// Records a failed attempt that will be retried at `next_at`.
    fn notification_retry(
        &self,
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError>;
}
