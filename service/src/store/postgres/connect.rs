//! The PostgreSQL store's handle: what its queries share (the pool, the leases held), the
//! runtime that drives them, and the bridge from the synchronous ports to async queries.
//! Opening it is `open.rs`.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deadpool_postgres::Pool;

use crate::application::ports::StoreError;

/// How long a call keeps asking for a connection while the database refuses them.
const CONNECT_FOR: Duration = Duration::from_secs(10);

/// How to reach the database, and how long a replica's leases last.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// `postgres://USER@HOST:PORT/DB` (no password: see `password_file`).
    pub url: String,
    /// The file holding the password, if the server wants one.
    pub password_file: Option<PathBuf>,
    /// How long a lease on a run or a chore lasts without a heartbeat.
    pub lease_ttl: Duration,
    /// This replica's name in leases (unique per process: a restarted replica is a new
    /// owner, so it adopts what its previous life left).
    pub replica: String,
}

/// The PostgreSQL store handle; cheap to share behind an `Arc`.
pub struct PgStore {
    pub(super) inner: Arc<Inner>,
    pub(super) rt: Option<tokio::runtime::Runtime>,
}

/// What the queries share.
pub(super) struct Inner {
    pub(super) pool: Pool,
    pub(super) replica: String,
    pub(super) ttl: Duration,
    /// The generation of each run this replica holds the lease on: a write carries it,
    /// and fails when the stored one moved on (another replica adopted the run).
    pub(super) held: Mutex<HashMap<String, i64>>,
    /// Runs adopted from a lost replica and not ended yet: what `active_faults` and
    /// `fail_interrupted` work on.
    pub(super) adopted: Mutex<BTreeSet<String>>,
    /// The runs live views follow, signalled by the LISTEN connection.
    pub(super) watchers: Arc<super::listen::Watchers>,
}

impl Inner {
    pub(super) fn held(&self) -> MutexGuard<'_, HashMap<String, i64>> {
        // Plain maps: a panic mid-update leaves them whole.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn adopted(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.adopted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection from the pool. While the database is away (restarting, failing
    /// over) new connections are refused; asking again for a few seconds lets a call ride
    /// out a restart instead of failing the run it serves. Nothing was written yet, so
    /// waiting is always safe.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        let deadline = tokio::time::Instant::now() + CONNECT_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            match self.pool.get().await {
                Ok(c) => return Ok(c),
                Err(e) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(error = %e, "PostgreSQL not reachable; asking again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => {
                    return Err(StoreError::Database {
                        op: "connect to PostgreSQL",
                        source: Box::new(e),
                    });
                }
            }
        }
    }
}

/// A PostgreSQL error as the store error of operation `op`.
pub(super) fn pg(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Database {
        op,
        source: Box::new(source),
    }
}

/// Why the store could not be opened (before any query ran).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL does not parse.
    #[error("store URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The password file cannot be read.
    #[error("failed to read the store password file {path}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or the pool could not be built.
    #[error("failed to set up the PostgreSQL pool: {0}")]
    Setup(String),
    /// Connecting or migrating failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PgStore {
    /// This replica's name in leases.
    pub fn replica(&self) -> &str {
        &self.inner.replica
    }

    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Some(rt) = &self.rt {
            rt.spawn(task);
        }
    }

    /// Runs `query` on the store's runtime and waits for its answer. The caller's
    /// thread blocks as it would on SQLite's lock; the query itself never runs on the
    /// caller's runtime, so this is safe from a task, a thread, or a `block_on`.
    pub(super) fn call<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = query(self.inner.clone());
        let Some(rt) = &self.rt else {
            return Err(gone());
        };
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().unwrap_or_else(|_| Err(gone()))
    }

    /// Like [`PgStore::call`], for the ports that answer with a future.
    pub(super) fn call_async<T, F, Fut>(
        &self,
        query: F,
    ) -> futures::future::BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let fut = query(self.inner.clone());
        // Spawned now, not when polled: the delivery log's contract is that a call is
        // queued when it is made.
        let handle = self.rt.as_ref().map(|rt| rt.spawn(fut));
        Box::pin(async move {
            match handle {
                Some(h) => h.await.unwrap_or_else(|_| Err(gone())),
                None => Err(gone()),
            }
        })
    }
}

fn gone() -> StoreError {
    StoreError::Writer {
        op: "reach PostgreSQL",
        detail: "the store's runtime has stopped".into(),
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which may not happen inside another
        // runtime's task: let them go in the background (the heartbeat ends with it).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
