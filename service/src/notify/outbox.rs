//! The sending worker. Notifications are already in the store (pending) when it hears
//! of them; it sends each in its own task — so an SMTP server that hangs never holds up
//! Slack — retries with exponential backoff up to a bounded number of attempts, and
//! marks each sent or failed. Started on a store that has pending rows (a previous
//! process died, or gave up waiting), it resumes them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use faultline_exporter::ServiceMetrics;

use super::send::Channels;
use crate::application::ports::{
    Destination, NewNotification, NotificationRow, SendError, Storage, StoreError,
};
use crate::application::report::Report;
use crate::domain::RunState;

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt; doubled after each further one.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// Attempts before giving up (the first one included).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 8 attempts: 5 s, 10 s, 20 s ... 320 s apart, about 10.5 minutes in all — long
    /// enough to ride out an SMTP restart or a Slack incident, short enough that a
    /// verdict arriving later would no longer help anyone.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(5),
            max_delay: Duration::from_secs(320),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The delay after `attempts` failed attempts (1 = after the first).
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max_delay)
    }
}

/// Why a stored entry cannot be sent at all (retrying cannot help). The messages carry
/// their cause: they are stored as the entry's last error.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    /// The destination JSON does not read back (written by another version).
    #[error("stored destination is unreadable: {0}")]
    Destination(serde_json::Error),
    /// The run or its events could not be read for the report.
    #[error("{0}")]
    Run(StoreError),
}

struct Inner {
    store: Arc<dyn Storage>,
    channels: Channels,
    policy: RetryPolicy,
    wake: tokio::sync::Notify,
    in_flight: Mutex<HashSet<i64>>,
    metrics: std::sync::OnceLock<Arc<ServiceMetrics>>,
}

/// The outbox: write notifications, and the worker that sends them.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The set only holds ids; a panic mid-insert cannot leave it inconsistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Outbox {
    /// An outbox over `store` sending through `channels`.
    pub fn new(store: Arc<dyn Storage>, channels: Channels, policy: RetryPolicy) -> Outbox {
        Outbox {
            inner: Arc::new(Inner {
                store,
                channels,
                policy,
                wake: tokio::sync::Notify::new(),
                in_flight: Mutex::new(HashSet::new()),
                metrics: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Counts every delivery attempt in `metrics`
    /// (`faultline_notifications_total{channel,outcome}`) from now on.
    pub fn count_with(&self, metrics: Arc<ServiceMetrics>) {
        let _ = self.inner.metrics.set(metrics);
    }

    fn count(&self, channel: &str, outcome: &str) {
        if let Some(m) = self.inner.metrics.get() {
            m.notification(channel, outcome);
        }
    }

    /// The channels (and through them the config).
    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.inner.store
    }

    /// Writes one pending notification per destination (deduplicated per run) and wakes
    /// the worker. Returns how many were new.
    pub fn enqueue(
        &self,
        run: &str,
        verdict: RunState,
        dests: &[Destination],
    ) -> Result<usize, StoreError> {
        let mut new = 0;
        for d in dests {
            let destination = serde_json::to_string(d).expect("Destination serialises");
            let key = d.key();
            let row = NewNotification {
                run,
                route: &key,
                channel: d.channel(),
                destination: &destination,
                verdict,
            };
            if self.inner.store.enqueue_notification(&row)? {
                new += 1;
            }
        }
        self.inner.wake.notify_one();
        Ok(new)
    }

    /// Starts the worker on the current tokio runtime; it runs until the runtime ends.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.work().await })
    }

    async fn work(self) {
        loop {
            let now = Utc::now();
            match self.inner.store.due_notifications(now) {
                Ok(rows) => {
                    for row in rows {
                        if lock(&self.inner.in_flight).insert(row.id) {
                            let me = self.clone();
                            tokio::spawn(async move {
                                let id = row.id;
                                me.attempt(row).await;
                                lock(&me.inner.in_flight).remove(&id);
                                me.inner.wake.notify_one();
                            });
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot read due notifications"),
            }
            let next = self
                .inner
                .store
                .pending_notifications()
                .ok()
                .and_then(|rows| {
                    let busy = lock(&self.inner.in_flight);
                    rows.iter()
                        .filter(|r| !busy.contains(&r.id))
                        .map(|r| r.next_at)
                        .min()
                });
            // Floor: never spin if the clock and the store disagree; ceiling: re-read
            // the store now and then in case another writer added rows.
            let wait = next
                .map_or(Duration::from_secs(60), |t| {
                    (t - Utc::now()).to_std().unwrap_or_default()
                })
                .clamp(Duration::from_millis(20), Duration::from_secs(60));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.inner.wake.notified() => {}
            }
        }
    }

    /// One delivery attempt of `row`, and its outcome written to the store.
    async fn attempt(&self, row: NotificationRow) {
        let store = &self.inner.store;
        let attempts = row.attempts + 1;
        let outcome = match self.prepare(&row) {
            Ok((dest, report)) => {
                let key = format!("faultline.{}.{}", row.run, row.id);
                self.inner.channels.send(&dest, report, &key).await
            }
            Err(why) => Err(SendError::Permanent(why.to_string())),
        };
        let written = match outcome {
            Ok(()) => {
                self.count(&row.channel, "sent");
                tracing::info!(run = %row.run, route = %row.route, attempts, "notification sent");
                store.notification_sent(row.id, attempts)
            }
            Err(SendError::Retry { reason, after })
                if attempts < self.inner.policy.max_attempts =>
            {
                self.count(&row.channel, "retry");
                let delay = after.unwrap_or_else(|| self.inner.policy.delay(attempts));
                let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                tracing::warn!(run = %row.run, route = %row.route, attempts, retry_in = ?delay, error = %reason, "notification not delivered; will retry");
                store.notification_retry(row.id, attempts, next, &reason)
            }
            Err(SendError::Retry { reason, .. }) => {
                self.count(&row.channel, "failed");
                let why = format!("gave up after {attempts} attempts: {reason}");
                tracing::error!(run = %row.run, route = %row.route, error = %why, "notification failed");
                store.notification_failed(row.id, attempts, &why)
            }
            Err(SendError::Permanent(why)) => {
                self.count(&row.channel, "failed");
                tracing::error!(run = %row.run, route = %row.route, error = %why, "notification refused; not retrying");
                store.notification_failed(row.id, attempts, &why)
            }
        };
        if let Err(e) = written {
            // The row stays pending with its old due time: it will be attempted again,
            // which is the safe side (a duplicate, never a loss).
            tracing::error!(run = %row.run, route = %row.route, error = %e, "cannot record the notification's outcome");
        }
    }

    fn prepare(&self, row: &NotificationRow) -> Result<(Destination, Report), EntryError> {
        let dest: Destination =
            serde_json::from_str(&row.destination).map_err(EntryError::Destination)?;
        let store = &self.inner.store;
        let run = store.run(&row.run).map_err(EntryError::Run)?;
        let events = store.events(&row.run).map_err(EntryError::Run)?;
        Ok((dest, Report::build(&run, events)))
    }

    /// Waits until nothing is pending, at most `timeout`, and returns what still is. Gives
    /// up early when nothing pending is due before the deadline.
    pub async fn drain(&self, timeout: Duration) -> Result<Vec<NotificationRow>, StoreError> {
        let deadline = Utc::now() + chrono::Duration::from_std(timeout).unwrap_or_default();
        loop {
            let pending = self.inner.store.pending_notifications()?;
            let busy = !lock(&self.inner.in_flight).is_empty();
            let due_in_time = pending.iter().any(|r| r.next_at <= deadline);
            if pending.is_empty() || Utc::now() >= deadline || !(busy || due_in_time) {
                return Ok(pending);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The outbox as the application's port: GitLab's observer and webhook queue through it.
impl crate::application::ports::Outbox for Outbox {
    fn enqueue(
        &self,
        run: &str,
        verdict: RunState,
        dests: &[Destination],
    ) -> Result<usize, StoreError> {
        Outbox::enqueue(self, run, verdict, dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        let d: Vec<u64> = (1..8).map(|a| p.delay(a).as_secs()).collect();
        assert_eq!(d, [5, 10, 20, 40, 80, 160, 320]);
        assert_eq!(
            d.iter().sum::<u64>(),
            635,
            "about ten minutes over 8 attempts"
        );
        assert_eq!(p.delay(40), p.max_delay, "no overflow");
    }
}
