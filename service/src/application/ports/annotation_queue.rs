//! The Grafana annotation queue shared by the replicas on one database: each operation
//! (create a region, patch its end or tags, forget a finished run) is a row, claimed by
//! one replica at a time (`FOR UPDATE SKIP LOCKED`) and only once the operations before
//! it of the same run are done, so a patch never overtakes its create and an annotation
//! queued by a replica that died is sent by another. One process on SQLite keeps its
//! queue in a file instead (the exporter's journal), so only the shared store has this.

use std::time::Duration;

use super::store_error::StoreError;

/// An operation claimed by this replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedAnnotation {
    /// Its place in the queue.
    pub seq: i64,
    /// The operation as JSON (the exporter's `Op`).
    pub op: String,
}

/// The shared annotation queue.
pub trait AnnotationQueue: Send + Sync {
    /// Appends operation `op` (JSON) on annotation `key` of run `run`; durable on return.
    fn push_annotation(&self, run: &str, key: &str, op: &str) -> Result<(), StoreError>;

    /// Claims the oldest operation no replica holds whose run has nothing older waiting,
    /// hiding it from the others for `hold`; `None` when there is none.
    fn claim_annotation(&self, hold: Duration) -> Result<Option<ClaimedAnnotation>, StoreError>;

    /// Extends this replica's claim on `seq` by `hold`; false when it no longer holds it
    /// (it was paused past its claim and another replica took the operation over).
    fn hold_annotation(&self, seq: i64, hold: Duration) -> Result<bool, StoreError>;

    /// Marks `seq` done (sent or given up), with Grafana's id for its key once created.
    fn annotation_done(&self, seq: i64, grafana_id: Option<i64>) -> Result<(), StoreError>;

    /// Marks `seq` done and drops the finished run `run`'s rows (its ids are no longer
    /// needed).
    fn annotations_forget(&self, seq: i64, run: &str) -> Result<(), StoreError>;

    /// Grafana's id for annotation `key`, once its create was sent.
    fn annotation_id(&self, key: &str) -> Result<Option<i64>, StoreError>;

    /// Operations waiting, across replicas.
    fn annotations_waiting(&self) -> Result<u64, StoreError>;
}
