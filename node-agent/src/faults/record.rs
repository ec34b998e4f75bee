//! The journal's unit: one applied (or about to be applied) fault on one target, with
//! what was resolved about the target at apply time.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use faultline_spec::{LocalTarget, NodeFault};

/// Identifies one fault on one target; unique per agent. The service builds it as
/// `<run>-<step>-<target>`; it names kernel objects (nft table `faultline_<id>`), so it is
/// restricted to `[A-Za-z0-9_-]`, at most 48 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(String);

impl FaultId {
    /// Checks the charset and length.
    pub fn new(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        if s.is_empty() || s.len() > 48 {
            return Err(format!("fault id `{s}` must be 1 to 48 characters"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "fault id `{s}` may only hold A-Z, a-z, 0-9, `-` and `_`"
            ));
        }
        Ok(FaultId(s))
    }

    /// A fresh random id.
    pub fn random() -> Self {
        FaultId(uuid::Uuid::new_v4().simple().to_string()[..16].to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// What the agent found for a [`LocalTarget`] when it applied the fault.
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

/// The journal's record of one fault on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRecord {
    /// Unique id on this agent.
    pub id: FaultId,
    /// The fault and its parameters.
    pub kind: NodeFault,
    /// The target as asked for.
    pub target: LocalTarget,
    /// The target as found.
    pub resolved: Resolved,
    /// The agent recovers the fault by itself at this instant unless renewed.
    pub lease_until: DateTime<Utc>,
}

/// How a recovery went, for events and the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Recovered {
    /// What was applied was found and removed.
    Removed,
    /// Nothing of it was left (already recovered, or never fully applied).
    AlreadyGone,
    /// The target no longer exists; its fault went with it.
    TargetGone(String),
}
