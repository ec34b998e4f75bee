//! What a fault's target is on this node, once found: its processes, cgroup directories
//! and network namespace, each by an identity that outlives the path it was reached
//! through.
//!
//! A leaf: plain data that resolution (`resolve`), the namespace and cgroup helpers
//! (`netns`, `cgroup`) and the executors (`faults`) all share, so it imports none of them.
//! The journal stores these types inside every record, so their serde form is the on-disk
//! format.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A process as found at apply time. `start_time` (field 22 of `/proc/PID/stat`, in clock
/// ticks since boot) tells a live process from a later one that reused the PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcRef {
    /// Process ID.
    pub pid: u32,
    /// Start time in clock ticks since boot.
    pub start_time: u64,
}

/// One cgroup directory a target lives in: one per mounted hierarchy (cgroup v1 has one
/// per controller group, v2 has one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CgroupDir {
    /// Absolute path, e.g. `/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/abc`.
    pub path: PathBuf,
    /// Controllers of that hierarchy (`cpu`, `cpuacct`, `memory`, `freezer`, ...); for v2
    /// the ones enabled in the parent's `cgroup.subtree_control`.
    pub controllers: Vec<String>,
    /// True for the unified (v2) hierarchy.
    pub v2: bool,
}

/// A network namespace's identity: the (device, inode) of its nsfs file, the same through
/// every path that reaches it (`/run/netns/NAME`, `/proc/PID/ns/net`) and stable for the namespace's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetnsId {
    /// `st_dev` of the nsfs file.
    pub dev: u64,
    /// `st_ino` of the nsfs file.
    pub ino: u64,
}

/// What the agent found for a [`LocalTarget`](faultline_spec::LocalTarget) when it applied
/// the fault.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resolved {
    /// The target's processes.
    pub procs: Vec<ProcRef>,
    /// The target's cgroups (of its first process, or the named cgroup).
    pub cgroups: Vec<CgroupDir>,
    /// Path to the target's network namespace (`/proc/PID/ns/net` or `/run/netns/NAME`).
    pub netns: Option<PathBuf>,
    /// That namespace's identity when it was resolved, so recovery finds it again when
    /// the path no longer leads there (the PID died; see `netns::locate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns_id: Option<NetnsId>,
}
