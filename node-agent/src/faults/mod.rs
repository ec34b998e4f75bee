//! Fault executors: one small trait, one file per fault family (DESIGN §5).
//!
//! The contract every family keeps:
//! - `apply` makes the kernel state match the record; applying twice equals applying once.
//! - `recover` removes what this record set up; recovering what is already gone (or
//!   whose target died) is success, with a note.
//! - Both take a [`FaultRecord`] that the journal wrote *before* `apply` ran, so recovery
//!   after a crash has exactly what it needs and nothing in memory.

pub mod bandwidth;
pub mod netem;
pub mod partition;
pub mod process;
mod record;
#[cfg(target_os = "linux")]
mod scoped;
#[cfg(target_os = "linux")]
pub mod shaping;
pub mod stress;

pub use record::{CgroupDir, FaultId, FaultRecord, NetnsId, ProcRef, Recovered, Resolved};

use crate::error::FaultError;
use faultline_spec::NodeFault;

/// What every fault family implements.
#[allow(async_fn_in_trait)] // used through the `Family` enum, never as `dyn`
pub trait Fault {
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
}

/// The family that carries out a fault kind on a node.
#[derive(Debug, Clone, Copy)]
pub enum Family {
    /// CPU and memory stress.
    Stress(stress::Stress),
    /// Process kill and pause.
    Process(process::Process),
    /// netem-based network faults.
    Netem(netem::Netem),
    /// tbf bandwidth.
    Bandwidth(bandwidth::Bandwidth),
    /// nftables partition.
    Partition(partition::Partition),
}

impl Family {
    /// The family for `kind`. Every `NodeFault` has one: the `Option` is left from when
    /// the wire type also held the service's pod kinds, and goes with its callers' checks.
    pub fn of(kind: &NodeFault) -> Option<Family> {
        Some(match kind {
            NodeFault::StressCpu(_) | NodeFault::StressMemory(_) => Family::Stress(stress::Stress),
            NodeFault::ProcessKill(_)
            | NodeFault::ProcessPause(_)
            | NodeFault::ContainerKill(_) => Family::Process(process::Process),
            NodeFault::NetworkDelay(_)
            | NodeFault::NetworkLoss(_)
            | NodeFault::NetworkDuplicate(_)
            | NodeFault::NetworkCorrupt(_)
            | NodeFault::NetworkReorder(_) => Family::Netem(netem::Netem),
            NodeFault::NetworkBandwidth(_) => Family::Bandwidth(bandwidth::Bandwidth),
            NodeFault::NetworkPartition(_) => Family::Partition(partition::Partition),
        })
    }
}

impl Fault for Family {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        match self {
            Family::Stress(f) => f.apply(rec).await,
            Family::Process(f) => f.apply(rec).await,
            Family::Netem(f) => f.apply(rec).await,
            Family::Bandwidth(f) => f.apply(rec).await,
            Family::Partition(f) => f.apply(rec).await,
        }
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        match self {
            Family::Stress(f) => f.recover(rec).await,
            Family::Process(f) => f.recover(rec).await,
            Family::Netem(f) => f.recover(rec).await,
            Family::Bandwidth(f) => f.recover(rec).await,
            Family::Partition(f) => f.recover(rec).await,
        }
    }

    async fn settle(&self, recs: &[FaultRecord]) -> Result<(), (usize, FaultError)> {
        match self {
            Family::Stress(f) => f.settle(recs).await,
            Family::Process(f) => f.settle(recs).await,
            Family::Netem(f) => f.settle(recs).await,
            Family::Bandwidth(f) => f.settle(recs).await,
            Family::Partition(f) => f.settle(recs).await,
        }
    }
}
