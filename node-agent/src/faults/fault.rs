//! The seam every fault family implements; the contract it keeps is in the `faults`
//! module's doc.

use super::observe::{Baseline, Observation};
use super::record::{FaultRecord, Recovered};
use crate::error::FaultError;
use crate::target::Prior;

/// What every fault family implements.
#[allow(async_fn_in_trait)] // used through the `Family` enum, never as `dyn`
pub trait Fault {
    /// Reads what the fault will replace or create for `rec` (a throttle's previous
    /// limits, a fill's file), before the record is journaled: the journal keeps it with
    /// the record, so recovery, also after a crash, undoes exactly that. Changes nothing;
    /// an error fails the request with nothing applied. Default: nothing to keep.
    async fn prepare(&self, rec: &FaultRecord) -> Result<Option<Prior>, FaultError> {
        let _ = rec;
        Ok(None)
    }

    /// Checks what can be checked without changing anything (module present, target
    /// alive, tools present), then sets the fault up. On error nothing stays applied.
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError>;

    /// Removes what `apply` set up for `rec`. Gone already is `Ok`.
    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError>;

    /// Waits until what `apply` set up for all of `recs` (one request) is in effect, for
    /// kinds the kernel carries out asynchronously. Called once after every record of a
    /// request applied, so a request on 1,000 containers waits once, not 1,000 times.
    /// An error names the record (its index in `recs`) that did not take effect in time;
    /// the caller then recovers the whole request, so nothing stays half-applied.
    async fn settle(&self, recs: &[FaultRecord]) -> Result<(), (usize, FaultError)> {
        let _ = recs;
        Ok(())
    }

    /// Reads what [`Fault::observe`] compares against, right after `recs` applied and
    /// settled (the qdisc's packets, the cgroup's CPU time). Default: nothing to compare.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        let _ = rec;
        Baseline::now(None)
    }

    /// Reads back from the kernel whether what `apply` set up for `rec` is in effect
    /// (see `observe.rs` for what "seen" means per family). Never changes anything; a
    /// read that fails is an unseen observation saying why.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation;
}
