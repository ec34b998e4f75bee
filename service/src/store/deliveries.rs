//! Webhook deliveries, recorded with group commit.
//!
//! A delivery that would start runs is recorded before anything starts, so a resent one
//! (GitLab resends what it thinks failed) is answered, not run twice; its answer is stored
//! after. Both writes are `synchronous=FULL` commits: at one fsync each, intake of such
//! deliveries was bounded by the disk at about 1.8k/s (docs/benchmarks.md, P6 row d).
//!
//! Here one writer thread commits them, in the order they were queued: whatever claims
//! and answers arrive while it waits for the write lock or for an fsync go into its next
//! transaction, so a burst shares one fsync. No claim hears back before its row is
//! durable, and a batch that fails fails every request in it (none is half-recorded: the
//! transaction rolls back). The webhook handler queues the answer before it replies but
//! does not wait for its commit (`api/webhooks.rs` says why).
//!
//! Deliveries are kept for a while, not for ever: [`Store::prune_deliveries`] deletes the
//! oldest ones, a bounded number per transaction so a prune never holds up a burst of
//! claims for long (`api/webhooks.rs` runs it for as long as the GitLab webhook is on).
//!
//! A file store's writer has its own connection. WAL lets the store's connection read
//! (the catalog, the emergency stop) while the writer waits on an fsync; had it shared
//! that connection, every request would have queued behind each fsync for its reads,
//! and batches stayed at two or three. A write of a run meanwhile waits for the batch
//! through SQLite's busy timeout (rusqlite's 5 s). An in-memory store has one
//! connection, so there the writer shares it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::sql::{configure, corrupt, parse_time, sql};
use crate::application::ports::{Delivery, PRUNE_AT_MOST, StoreError};

/// The most requests one transaction takes; the rest wait for the next.
const MAX_BATCH: usize = 1024;

/// The writer thread's inbox, started on first use (most stores never see a delivery).
pub(super) struct DeliveryWriter {
    db: Db,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    commits: Arc<AtomicU64>,
}

/// Where the writer writes.
pub(super) enum Db {
    /// The store's file: the writer opens a connection of its own.
    File(PathBuf),
    /// The store's only connection (in memory).
    Shared(Arc<Mutex<Connection>>),
}

/// Where the writer's caller hears back.
type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub(super) enum Job {
    Claim {
        uuid: String,
        event: String,
        at: DateTime<Utc>,
        reply: Reply<Option<Delivery>>,
    },
    Finish {
        uuid: String,
        response: String,
        reply: Reply<()>,
    },
    Prune {
        before: DateTime<Utc>,
        reply: Reply<usize>,
    },
}

/// What a job found, read inside the transaction, decoded after it committed.
enum Found {
    /// Claimed now, or the answer stored.
    Done,
    /// Seen before: (event, received_at, response) as stored.
    Seen(String, String, String),
    /// This many deleted.
    Pruned(usize),
}

impl DeliveryWriter {
    pub(super) fn new(db: Db) -> DeliveryWriter {
        DeliveryWriter {
            db,
            tx: Mutex::new(None),
            commits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Hands `job` to the writer thread, starting it if needed.
    pub(super) fn submit(&self, job: Job) -> Result<(), StoreError> {
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        if tx.is_none() {
            // A connection of its own is still behind a mutex: uncontended, it costs
            // nothing, and one writer loop serves both kinds of store.
            let conn = match &self.db {
                Db::File(path) => Arc::new(Mutex::new(open(path)?)),
                Db::Shared(conn) => conn.clone(),
            };
            let (send, recv) = mpsc::channel();
            let commits = self.commits.clone();
            std::thread::Builder::new()
                .name("faultline-deliveries".into())
                .spawn(move || run(conn, &recv, &commits))
                .map_err(|e| stopped(&format!("cannot start its thread: {e}")))?;
            *tx = Some(send);
        }
        let sender = tx.as_ref().expect("started above");
        sender.send(job).map_err(|_| {
            *tx = None;
            stopped("its thread is gone")
        })
    }

    /// Transactions committed so far.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

pub(super) fn stopped(why: &str) -> StoreError {
    StoreError::Writer {
        op: "record delivery",
        detail: format!("the delivery writer stopped: {why}"),
    }
}

/// The writer's own connection to the store file, set up as the store's is.
fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(sql("open the delivery writer's connection"))?;
    configure(&conn)?;
    Ok(conn)
}

/// The writer thread: one transaction per batch, until the store is dropped.
fn run(conn: Arc<Mutex<Connection>>, inbox: &mpsc::Receiver<Job>, commits: &AtomicU64) {
    while let Ok(first) = inbox.recv() {
        let (batch, written) = write(
            &mut conn.lock().unwrap_or_else(|p| p.into_inner()),
            first,
            inbox,
        );
        if written.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
        }
        answer(batch, written);
    }
}

/// One transaction: `first`, and what queued up behind it by the time the write lock
/// was ours.
fn write(
    conn: &mut Connection,
    first: Job,
    inbox: &mpsc::Receiver<Job>,
) -> (Vec<Job>, Result<Vec<Found>, rusqlite::Error>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return (vec![first], Err(e)),
    };
    let batch: Vec<Job> = std::iter::once(first)
        .chain(inbox.try_iter().take(MAX_BATCH - 1))
        .collect();
    let written = write_all(tx, &batch);
    (batch, written)
}

fn write_all(tx: rusqlite::Transaction<'_>, batch: &[Job]) -> Result<Vec<Found>, rusqlite::Error> {
    let mut found = Vec::with_capacity(batch.len());
    for job in batch {
        found.push(match job {
            Job::Claim {
                uuid, event, at, ..
            } => {
                let inserted = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO webhook_deliveries (uuid, event, received_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![uuid, event, at.to_rfc3339()])?;
                if inserted == 1 {
                    Found::Done
                } else {
                    tx.prepare_cached(
                        "SELECT event, received_at, response FROM webhook_deliveries WHERE uuid = ?1",
                    )?
                    .query_row([uuid], |r| Ok(Found::Seen(r.get(0)?, r.get(1)?, r.get(2)?)))?
                }
            }
            Job::Finish { uuid, response, .. } => {
                tx.prepare_cached("UPDATE webhook_deliveries SET response = ?2 WHERE uuid = ?1")?
                    .execute(params![uuid, response])?;
                Found::Done
            }
            // Rows are in arrival order (rowids only grow), so the oldest are the first
            // rowids: looking at those alone bounds the work. A full `WHERE received_at <`
            // would read the whole table at every prune once nothing is old. The times
            // are RFC 3339 in UTC as `to_rfc3339` writes them, which sort as they read.
            Job::Prune { before, .. } => Found::Pruned(
                tx.prepare_cached(
                    "DELETE FROM webhook_deliveries WHERE rowid IN \
                     (SELECT rowid FROM webhook_deliveries ORDER BY rowid LIMIT ?2) \
                     AND received_at < ?1",
                )?
                .execute(params![before.to_rfc3339(), PRUNE_AT_MOST as i64])?,
            ),
        });
    }
    tx.commit()?;
    Ok(found)
}

/// Tells each job's caller how it went, now that it is durable (or was rolled back). A
/// caller that gave up waiting has nobody to tell.
fn answer(batch: Vec<Job>, written: Result<Vec<Found>, rusqlite::Error>) {
    let found = match written {
        Ok(found) => found,
        Err(e) => {
            let failed = || StoreError::Writer {
                op: "record delivery",
                detail: e.to_string(),
            };
            for job in batch {
                match job {
                    Job::Claim { reply, .. } => drop(reply.send(Err(failed()))),
                    Job::Finish { reply, .. } => drop(reply.send(Err(failed()))),
                    Job::Prune { reply, .. } => drop(reply.send(Err(failed()))),
                }
            }
            return;
        }
    };
    for (job, found) in batch.into_iter().zip(found) {
        match (job, found) {
            (Job::Claim { reply, .. }, Found::Seen(event, at, response)) => {
                let seen = parse_time(&at)
                    .map_err(corrupt("delivery time"))
                    .map(|received_at| {
                        Some(Delivery {
                            event,
                            received_at,
                            response,
                        })
                    });
                drop(reply.send(seen));
            }
            // Each job's own kind of finding: a claim finds Done or Seen, a prune Pruned.
            (Job::Claim { reply, .. }, _) => drop(reply.send(Ok(None))),
            (Job::Finish { reply, .. }, _) => drop(reply.send(Ok(()))),
            (Job::Prune { reply, .. }, Found::Pruned(n)) => drop(reply.send(Ok(n))),
            (Job::Prune { reply, .. }, _) => drop(reply.send(Ok(0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_delivery_is_claimed_once_and_its_answer_kept() {
        let s = Store::open_in_memory().unwrap();
        assert_eq!(s.claim_delivery("u1", "Pipeline Hook").await.unwrap(), None);
        let again = s
            .claim_delivery("u1", "Pipeline Hook")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.response, "");
        assert_eq!(again.event, "Pipeline Hook");
        s.finish_delivery("u1", r#"{"runs":[]}"#.into())
            .await
            .unwrap();
        let again = s
            .claim_delivery("u1", "Pipeline Hook")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.response, r#"{"runs":[]}"#);
        assert_eq!(s.claim_delivery("u2", "Push Hook").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_prune_deletes_the_oldest_deliveries_a_bounded_number_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("f.db")).unwrap();
        let old = PRUNE_AT_MOST + 500;
        let claims: Vec<_> = (0..old)
            .map(|i| format!("old-{i}"))
            .chain((0..10).map(|i| format!("new-{i}")))
            .map(|uuid| s.claim_delivery(&uuid, "Pipeline Hook"))
            .collect();
        for c in futures::future::join_all(claims).await {
            assert_eq!(c.unwrap(), None);
        }
        let month_ago = (Utc::now() - chrono::Duration::days(31)).to_rfc3339();
        s.conn()
            .execute(
                "UPDATE webhook_deliveries SET received_at = ?1 WHERE uuid LIKE 'old-%'",
                [&month_ago],
            )
            .unwrap();
        let cutoff = Utc::now() - chrono::Duration::days(30);
        assert_eq!(s.prune_deliveries(cutoff).await.unwrap(), PRUNE_AT_MOST);
        assert_eq!(s.prune_deliveries(cutoff).await.unwrap(), 500);
        assert_eq!(s.prune_deliveries(cutoff).await.unwrap(), 0);
        let left: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 10, "only the recent deliveries are kept");
        // A resend of a pruned delivery is new again; a recent one is still known.
        assert_eq!(
            s.claim_delivery("old-7", "Pipeline Hook").await.unwrap(),
            None
        );
        assert!(
            s.claim_delivery("new-7", "Pipeline Hook")
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_recorded_while_deliveries_commit_loses_no_event() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(Store::open(&dir.path().join("f.db")).unwrap());
        s.create_run("r1", "e", "{}").unwrap();
        let recorder = {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..300 {
                    let ev = crate::domain::RunEvent::Note {
                        message: format!("event {i}"),
                    };
                    s.record("r1", &ev).unwrap();
                }
            })
        };
        for round in 0..30 {
            let claims: Vec<_> = (0..10)
                .map(|i| s.claim_delivery(&format!("u{round}-{i}"), "Pipeline Hook"))
                .collect();
            for c in futures::future::join_all(claims).await {
                assert_eq!(c.unwrap(), None);
            }
        }
        recorder.join().expect("every event recorded");
        assert_eq!(s.events("r1").unwrap().len(), 300);
    }

    #[tokio::test]
    async fn a_batch_that_cannot_be_written_fails_every_request_in_it() {
        let s = Store::open_in_memory().unwrap();
        s.conn()
            .execute_batch("DROP TABLE webhook_deliveries")
            .unwrap();
        let held = s.conn();
        let claim = s.claim_delivery("u1", "Pipeline Hook");
        let finish = s.finish_delivery("u0", "{}".into());
        drop(held);
        for e in [claim.await.unwrap_err(), finish.await.unwrap_err()] {
            assert!(
                e.to_string().contains("no such table: webhook_deliveries"),
                "{e}"
            );
        }
        assert_eq!(s.delivery_commits(), 0);
    }

    #[tokio::test]
    async fn requests_that_queue_up_share_one_commit_and_each_uuid_is_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let s = Store::open(&path).unwrap();
        // Hold the write lock, as a run's write would, while 300 requests arrive: 100
        // deliveries, each sent twice, and an answer for each of the first 50.
        s.conn().execute_batch("BEGIN IMMEDIATE").unwrap();
        let claims: Vec<_> = (0..200)
            .map(|i| s.claim_delivery(&format!("u{}", i % 100), "Pipeline Hook"))
            .collect();
        let finishes: Vec<_> = (0..50)
            .map(|i| s.finish_delivery(&format!("u{i}"), format!("answer {i}")))
            .collect();
        // Reads go on meanwhile (WAL): the store's connection is not held by the writer.
        assert_eq!(s.halted().unwrap(), None);
        s.conn().execute_batch("COMMIT").unwrap();
        let claimed = futures::future::join_all(claims).await;
        for r in futures::future::join_all(finishes).await {
            r.unwrap();
        }
        // The writer took the first request, then everything queued behind the lock
        // (rusqlite's busy timeout let it wait).
        assert_eq!(s.delivery_commits(), 1);
        for i in 0..100 {
            let (first, second) = (&claimed[i], &claimed[i + 100]);
            assert_eq!(*first.as_ref().unwrap(), None, "u{i} first send");
            let seen = second.as_ref().unwrap().as_ref().unwrap();
            assert_eq!(
                seen.response, "",
                "u{i}: the second send sees it in progress"
            );
        }
        drop(s);
        // Durable: another connection sees every delivery and the 50 answers.
        let conn = Connection::open(&path).unwrap();
        let count = |q: &str| conn.query_row(q, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT count(*) FROM webhook_deliveries"), 100);
        assert_eq!(
            count("SELECT count(*) FROM webhook_deliveries WHERE response LIKE 'answer %'"),
            50
        );
    }
}
