//! Fault executors: one small trait, one file per fault family (DESIGN §5).
//!
//! The contract every family keeps:
//! - `apply` makes the kernel state match the record; applying twice equals applying once.
//! - `recover` removes what this record set up; recovering what is already gone (or
//!   whose target died) is success, with a note.
//! - Both take a [`FaultRecord`] that the journal wrote *before* `apply` ran, so recovery
//!   after a crash has exactly what it needs and nothing in memory.

pub mod bandwidth;
#[cfg(target_os = "linux")]
pub mod disk_fill;
#[cfg(target_os = "linux")]
pub mod dns;
mod fault;
#[cfg(target_os = "linux")]
pub mod http;
#[cfg(target_os = "linux")]
pub mod io_throttle;
pub mod netem;
mod observe;
pub mod partition;
pub mod process;
mod record;
mod running;
#[cfg(target_os = "linux")]
pub mod shaping;
pub mod stress;

pub use fault::Fault;
pub use observe::{Baseline, Observation};
pub use record::{FaultId, FaultRecord, Recovered};

use crate::error::FaultError;
use crate::target::Prior;
use faultline_spec::NodeFault;

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
    /// A filesystem filled with fallocate.
    DiskFill(disk_fill::DiskFill),
    /// Block IO limits on the target's cgroup.
    IoThrottle(io_throttle::IoThrottle),
    /// DNS answers from a proxy in the target's namespace.
    Dns(dns::Dns),
    /// HTTP requests through a transparent proxy in the target's namespace.
    Http(http::Http),
}

impl Family {
    /// The family that carries out `kind` on a node.
    pub fn of(kind: &NodeFault) -> Family {
        match kind {
            NodeFault::StressCpu(_) | NodeFault::StressMemory(_) => Family::Stress(stress::Stress),
            NodeFault::ProcessKill(_)
            | NodeFault::ProcessPause(_)
            | NodeFault::ContainerKill(_) => Family::Process(process::Process),
            NodeFault::NetworkDelay(_)
            | NodeFault::NetworkLoss(_)
            | NodeFault::NetworkDuplicate(_)
            | NodeFault::NetworkCorrupt(_)
            | NodeFault::NetworkReorder(_)
            | NodeFault::NetworkNetem(_) => Family::Netem(netem::Netem),
            NodeFault::NetworkBandwidth(_) => Family::Bandwidth(bandwidth::Bandwidth),
            NodeFault::NetworkPartition(_) => Family::Partition(partition::Partition),
            NodeFault::DiskFill(_) => Family::DiskFill(disk_fill::DiskFill),
            NodeFault::IoThrottle(_) => Family::IoThrottle(io_throttle::IoThrottle),
            NodeFault::DnsError(_) | NodeFault::DnsDelay(_) | NodeFault::DnsSpoof(_) => {
                Family::Dns(dns::Dns)
            }
            NodeFault::HttpDelay(_)
            | NodeFault::HttpAbort(_)
            | NodeFault::HttpReset(_)
            | NodeFault::HttpReplace(_) => Family::Http(http::Http),
        }
    }
}

impl Fault for Family {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        // The service resolves host names into `peers` before it sends a fault; a name
        // left here would otherwise be dropped, and an empty `peers` means all traffic.
        if let Some(host) = rec.kind.scope().and_then(|s| s.hosts.first()) {
            return Err(FaultError::Unsupported {
                kind: rec.kind.name(),
                target: rec.target.to_string(),
                reason: format!(
                    "host `{host}` was not resolved: the agent takes addresses only (the service resolves `hosts` into `peers`, or `peerPorts` for a name with a port, when it injects)"
                ),
            });
        }
        match self {
            Family::Stress(f) => f.apply(rec).await,
            Family::Process(f) => f.apply(rec).await,
            Family::Netem(f) => f.apply(rec).await,
            Family::Bandwidth(f) => f.apply(rec).await,
            Family::Partition(f) => f.apply(rec).await,
            Family::DiskFill(f) => f.apply(rec).await,
            Family::IoThrottle(f) => f.apply(rec).await,
            Family::Dns(f) => f.apply(rec).await,
            Family::Http(f) => f.apply(rec).await,
        }
    }

    async fn prepare(&self, rec: &FaultRecord) -> Result<Option<Prior>, FaultError> {
        match self {
            Family::DiskFill(f) => f.prepare(rec).await,
            Family::IoThrottle(f) => f.prepare(rec).await,
            _ => Ok(None),
        }
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        match self {
            Family::Stress(f) => f.recover(rec).await,
            Family::Process(f) => f.recover(rec).await,
            Family::Netem(f) => f.recover(rec).await,
            Family::Bandwidth(f) => f.recover(rec).await,
            Family::Partition(f) => f.recover(rec).await,
            Family::DiskFill(f) => f.recover(rec).await,
            Family::IoThrottle(f) => f.recover(rec).await,
            Family::Dns(f) => f.recover(rec).await,
            Family::Http(f) => f.recover(rec).await,
        }
    }

    async fn settle(&self, recs: &[FaultRecord]) -> Result<(), (usize, FaultError)> {
        match self {
            Family::Stress(f) => f.settle(recs).await,
            Family::Process(f) => f.settle(recs).await,
            Family::Netem(f) => f.settle(recs).await,
            Family::Bandwidth(f) => f.settle(recs).await,
            Family::Partition(f) => f.settle(recs).await,
            Family::DiskFill(f) => f.settle(recs).await,
            Family::IoThrottle(f) => f.settle(recs).await,
            Family::Dns(f) => f.settle(recs).await,
            Family::Http(f) => f.settle(recs).await,
        }
    }

    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        match self {
            Family::Stress(f) => f.baseline(rec).await,
            Family::Process(f) => f.baseline(rec).await,
            Family::Netem(f) => f.baseline(rec).await,
            Family::Bandwidth(f) => f.baseline(rec).await,
            Family::Partition(f) => f.baseline(rec).await,
            Family::DiskFill(f) => f.baseline(rec).await,
            Family::IoThrottle(f) => f.baseline(rec).await,
            Family::Dns(f) => f.baseline(rec).await,
            Family::Http(f) => f.baseline(rec).await,
        }
    }

    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        match self {
            Family::Stress(f) => f.observe(rec, since).await,
            Family::Process(f) => f.observe(rec, since).await,
            Family::Netem(f) => f.observe(rec, since).await,
            Family::Bandwidth(f) => f.observe(rec, since).await,
            Family::Partition(f) => f.observe(rec, since).await,
            Family::DiskFill(f) => f.observe(rec, since).await,
            Family::IoThrottle(f) => f.observe(rec, since).await,
            Family::Dns(f) => f.observe(rec, since).await,
            Family::Http(f) => f.observe(rec, since).await,
        }
    }
}
