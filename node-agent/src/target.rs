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

/// A mount namespace's identity: the (device, inode) of its nsfs file, as [`NetnsId`] is a
/// network namespace's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MntnsId {
    /// `st_dev` of the nsfs file.
    pub dev: u64,
    /// `st_ino` of the nsfs file.
    pub ino: u64,
}

/// Block IO limits of one cgroup on one device, as the cgroup files hold them; `None` is
/// no limit (v2 `max`, v1 no line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IoLimits {
    /// Read bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbps: Option<u64>,
    /// Write bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wbps: Option<u64>,
    /// Read IO operations per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riops: Option<u64>,
    /// Write IO operations per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wiops: Option<u64>,
}

/// Block IO one cgroup did on one device, as its counters read (v2 `io.stat`, v1
/// `blkio.throttle.io_service_bytes` and `io_serviced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoStat {
    /// Bytes read.
    pub rbytes: u64,
    /// Bytes written.
    pub wbytes: u64,
    /// Reads.
    pub rios: u64,
    /// Writes.
    pub wios: u64,
}

/// What a fault found before it changed anything, read after its target was resolved and
/// journaled with its record (`Fault::prepare`), so recovery undoes exactly that, also
/// after the agent crashed: the file a fill allocates, the IO limits a throttle replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Prior {
    /// diskFill: the file it allocates, as the target sees it, and the target's mount
    /// namespace it is reached through.
    FillFile {
        /// The fill file, e.g. `/data/.faultline-fill-run1-0-0`, inside `mntns`.
        file: PathBuf,
        /// `/proc/PID/ns/mnt` of the target process it was resolved through.
        mntns: PathBuf,
        /// That namespace's identity, to find it again when the PID has gone.
        mntns_id: MntnsId,
    },
    /// ioThrottle: the cgroup and device it limits, and their limits before.
    IoLimits {
        /// The cgroup dir whose `io.max` (v2) or `blkio.throttle.*` (v1) it writes.
        dir: PathBuf,
        /// True for cgroup v2 (`io.max`).
        v2: bool,
        /// The whole disk, `MAJOR:MINOR`.
        device: String,
        /// Its limits there before the fault.
        before: IoLimits,
    },
}
