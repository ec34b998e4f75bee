//! Fault executors: one small trait, one file per fault family (DESIGN §5).
//!
//! The contract every family keeps:
//! - `apply` makes the kernel state match the record; applying twice equals applying once.
//! - `recover` removes what this record set up; recovering what is already gone (or
//!   whose target died) is success, with a note.
//! - Both take a [`FaultRecord`] that the journal wrote *before* `apply` ran, so recovery
//!   after a crash has exactly what it needs and nothing in memory.

mod record;

pub use record::{CgroupDir, FaultId, FaultRecord, ProcRef, Recovered, Resolved};

use crate::error::FaultError;

/// What every fault family implements.
#[allow(async_fn_in_trait)] // only used through the `Family` enum, never as `dyn`
pub trait Fault {
    /// Checks what can be checked without changing anything (module present, target
    /// alive, tools present), then sets the fault up. On error nothing stays applied.
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError>;

    /// Removes what `apply` set up for `rec`. Gone already is `Ok`.
    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError>;
}
