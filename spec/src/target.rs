//! What a fault is aimed at on one machine. Kubernetes pod selectors resolve, through the
//! service, to these; `faultline run` uses them directly (`target: { local: ... }`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A target on one node; exactly one way of naming it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum LocalTarget {
    /// One process by PID.
    Pid(u32),
    /// Every process whose `comm` (or argv[0] basename) equals this name.
    ProcessName(String),
    /// A cgroup by path, relative to the cgroup root (`/kubepods/burstable/pod.../abc`)
    /// or absolute under `/sys/fs/cgroup`.
    Cgroup(PathBuf),
    /// A network namespace by name (`/run/netns/NAME`) or path (`/proc/PID/ns/net`).
    Netns(String),
    /// A container by ID (full or a unique prefix of at least 12 hex digits); found by
    /// scanning `/proc/*/cgroup` for containerd, CRI-O and Docker path formats.
    ContainerId(String),
}

impl LocalTarget {
    /// The spec key, e.g. `processName`.
    pub const fn key(&self) -> &'static str {
        match self {
            LocalTarget::Pid(_) => "pid",
            LocalTarget::ProcessName(_) => "processName",
            LocalTarget::Cgroup(_) => "cgroup",
            LocalTarget::Netns(_) => "netns",
            LocalTarget::ContainerId(_) => "containerId",
        }
    }
}

impl std::fmt::Display for LocalTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalTarget::Pid(p) => write!(f, "pid {p}"),
            LocalTarget::ProcessName(n) => write!(f, "process {n}"),
            LocalTarget::Cgroup(c) => write!(f, "cgroup {}", c.display()),
            LocalTarget::Netns(n) => write!(f, "netns {n}"),
            LocalTarget::ContainerId(c) => write!(f, "container {c}"),
        }
    }
}
