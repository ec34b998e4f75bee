//! Aborting a run that another replica drives. The API on any replica can be asked to
//! abort any run; when the run is not live in this process, the request is recorded in
//! the shared store, and the replica driving the run takes it (`abort_watch.rs`) and
//! aborts the run as if it had been asked itself. With one process (SQLite) there is no
//! other replica, so nothing is recorded and the caller hears that no one drives the run.

use super::store_error::StoreError;

/// What became of a request to abort a run driven elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortRequested {
    /// Recorded: the replica driving the run will take it within its poll period.
    Recorded,
    /// The run finished before the request could be recorded: nothing to abort.
    RunFinished,
    /// The store is not shared by several replicas: no one else can drive the run.
    NotShared,
}

/// A request taken by the replica driving its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortRequest {
    /// The run to abort.
    pub run: String,
    /// The reason the run ends `aborted` with.
    pub reason: String,
    /// Who asked (the audit log's name for the caller).
    pub actor: String,
    /// The replica whose API was asked.
    pub via: String,
}

/// Abort requests shared across replicas.
pub trait RemoteAborts: Send + Sync {
    /// Records that `actor` asked to abort run `run` with `reason`. Recorded only while
    /// the run is unfinished (the check and the insert are one statement, serialised with
    /// the run's own writes), so a request never outlives its run unseen. A second
    /// request for the same run keeps the first reason, as a local abort does.
    fn request_abort(
        &self,
        run: &str,
        reason: &str,
        actor: &str,
    ) -> Result<AbortRequested, StoreError>;

    /// Takes (removes and returns) the requests for runs this replica drives; requests
    /// for runs that finished meanwhile are dropped. Each request is taken once.
    fn take_abort_requests(&self) -> Result<Vec<AbortRequest>, StoreError>;
}
