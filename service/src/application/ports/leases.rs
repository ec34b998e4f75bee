//! Run ownership across replicas: which replica drives which run, and who leads the
//! replicas' shared chores (the scheduler). With one process (SQLite) there is nothing
//! to share, and the answers are the trivial ones; PostgreSQL keeps them as row leases.

use super::store_error::StoreError;

/// Leases on runs and on shared chores.
pub trait RunLeases: Send + Sync {
    /// Takes over the unfinished runs whose driving replica stopped renewing its lease
    /// (it died, hung or lost the database), fencing the old owner out: its later writes
    /// to them fail with [`StoreError::LeaseLost`]. Returns their ids. Afterwards
    /// [`RunStore::active_faults`](super::RunStore::active_faults) lists their faults and
    /// [`RunStore::fail_interrupted`](super::RunStore::fail_interrupted) ends them. A
    /// single-process store has no other replica to adopt from: empty.
    fn adopt_lapsed(&self) -> Result<Vec<String>, StoreError>;

    /// True while this replica holds (or has just taken) the lease named `chore`, so
    /// that exactly one replica does it. A single-process store: always true.
    fn leads(&self, chore: &str) -> Result<bool, StoreError>;
}
