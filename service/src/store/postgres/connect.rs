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

/// How long a call keeps asking for a connection while the database refuses them, and
/// keeps trying its query again while connections drop: one deadline for both.
const CONNECT_FOR: Duration = Duration::from_secs(10);

tokio::task_local! {
    /// When the call being served gives up: set by [`retrying`] so that a retried query's
    /// checkout waits only for what is left of the call's patience, not for a fresh one.
    static DEADLINE: tokio::time::Instant;
}

/// How to reach the database, and how long a replica's leases last.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// `postgres://USER@HOST:PORT/DB` (no password: see `password_file`), with libpq's
    /// TLS keys in its query if wanted (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`).
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
        let deadline = DEADLINE
            .try_with(|d| *d)
            .unwrap_or_else(|_| tokio::time::Instant::now() + CONNECT_FOR);
        let mut pause = Duration::from_millis(50);
        loop {
            match self.pool.get().await {
                Ok(c) => return Ok(c),
                Err(e)
                    if !refused_for_good(&e) && tokio::time::Instant::now() + pause < deadline =>
                {
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

/// True when asking again cannot help: the TLS handshake failed (a certificate not
/// trusted, not naming the host, or TLS demanded of a server without it), or the server
/// refused who we are or what we asked for (SQLSTATE class 28, authorization; 3D, no
/// such database). A restart refuses with 57P03 or a closed socket, which heal.
fn refused_for_good(e: &deadpool_postgres::PoolError) -> bool {
    let deadpool_postgres::PoolError::Backend(e) = e else {
        return false;
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("28") || code.starts_with("3D");
    }
    // tokio-postgres keeps its error kinds private; a failed handshake (rustls's reason,
    // or "server does not support TLS" under require) is the kind its Display names so.
    e.to_string().starts_with("error performing TLS handshake")
}

/// A PostgreSQL error as the store error of operation `op`.
pub(super) fn pg(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Database {
        op,
        source: Box::new(source),
    }
}

/// A write's error whose outcome is unknown: the connection broke after the statement
/// (an autocommit write) or the COMMIT was sent, so the server may have applied it.
/// Wrapped so that [`retrying`] does not try it again: a second INSERT could duplicate
/// it. The server's own error (a `DbError`) is not wrapped: that statement failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "the connection broke before the database confirmed the write, which may have been applied: {0}"
)]
pub(super) struct Uncertain(#[source] tokio_postgres::Error);

/// Like [`pg`], for a write that must not be retried blindly (see [`Uncertain`]).
pub(super) fn uncertain(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Database {
        op,
        source: if source.as_db_error().is_some() {
            Box::new(source)
        } else {
            Box::new(Uncertain(source))
        },
    }
}

/// True when `e` is the connection failing rather than the query: the connection was
/// closed or broke (I/O), or the server said it is shutting down, crashed, is not
/// accepting connections yet (57P01/57P02/57P03) or reported a connection exception
/// (class 08). A query that failed so did not take effect (except [`Uncertain`] ones,
/// which are not `tokio_postgres::Error`s here), so running it again is safe.
pub(super) fn connection_lost(e: &StoreError) -> bool {
    let StoreError::Database { source, .. } = e else {
        return false;
    };
    let Some(e) = source.downcast_ref::<tokio_postgres::Error>() else {
        return false;
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    e.is_closed() || io_error(e)
}

fn io_error(e: &tokio_postgres::Error) -> bool {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Runs `query` until it answers, or fails other than by the connection (see
/// [`connection_lost`]), or [`CONNECT_FOR`] is over. A database restart drops the pooled
/// connections mid-query, including ones verified a moment before; each try takes a fresh
/// connection. A query that failed inside its transaction was rolled back, so trying
/// again writes once; a fenced write that lost its lease fails with `LeaseLost`, which is
/// not retried.
async fn retrying<T, F, Fut>(inner: Arc<Inner>, query: F) -> Result<T, StoreError>
where
    F: FnOnce(Arc<Inner>) -> Fut + Clone,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = tokio::time::Instant::now() + CONNECT_FOR;
    let mut pause = Duration::from_millis(50);
    loop {
        let result = DEADLINE
            .scope(deadline, (query.clone())(inner.clone()))
            .await;
        match result {
            Err(e) if connection_lost(&e) && tokio::time::Instant::now() + pause < deadline => {
                tracing::debug!(error = %e, "PostgreSQL connection lost mid-query; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            result => return result,
        }
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
    /// The URL's TLS keys cannot be used (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`).
    #[error(transparent)]
    Tls(#[from] super::tls::PgTlsError),
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
    /// caller's runtime, so this is safe from a task, a thread, or a `block_on`. A query
    /// the connection failed under runs again (see [`retrying`]), so it is `Clone`.
    pub(super) fn call<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = retrying(self.inner.clone(), query);
        let Some(rt) = &self.rt else {
            return Err(gone());
        };
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        let wait = || rx.recv().unwrap_or_else(|_| Err(gone()));
        // A call may now wait seconds for the database. On a worker of a multi-thread
        // runtime, let the worker's other tasks move on meanwhile: callers such as the
        // halt watch and the lease renewer are tasks, and blocking both of a small
        // runtime's workers starved the engine's own timers through an outage.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    /// Like [`PgStore::call`], for the ports that answer with a future.
    pub(super) fn call_async<T, F, Fut>(
        &self,
        query: F,
    ) -> futures::future::BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let fut = retrying(self.inner.clone(), query);
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
