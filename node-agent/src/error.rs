//! The node agent's errors. `FaultError` is what an apply or recover can fail with; every
//! variant names the step and carries what an operator needs to act on it. The smaller
//! enums below are the steps' own errors (a fault id's check, tbf's limits, the modprobe
//! fallback), each carried into a `FaultError` or an HTTP 400 by its caller.
//!
//! A leaf: it imports nothing of the crate, so every module can use it.

use std::path::PathBuf;

use faultline_spec::{BitRate, Bytes};

/// Why a fault could not be applied or recovered.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The target named in the request does not exist on this node.
    #[error("target not found: {0}")]
    TargetNotFound(String),

    /// The fault cannot run against this target (e.g. a network fault on a target without
    /// a network namespace).
    #[error("{kind} cannot target {target}: {reason}")]
    Unsupported {
        /// Fault kind name.
        kind: &'static str,
        /// The target as written.
        target: String,
        /// Why not.
        reason: String,
    },

    /// A file under /proc or /sys could not be read or written.
    #[error("failed to {action} {path}")]
    Io {
        /// What was being done, e.g. "write pid to".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The target is written in a way that can name nothing (e.g. a container ID that is
    /// not hex, or a netns path that is not a network namespace).
    #[error("invalid target {target}: {reason}")]
    InvalidTarget {
        /// The target as written.
        target: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The target names more than one thing where one is needed (a container-ID prefix
    /// shared by several containers).
    #[error("target {target} is ambiguous: it matches {}", matches.join(", "))]
    AmbiguousTarget {
        /// The target as written.
        target: String,
        /// What it matched.
        matches: Vec<String>,
    },

    /// Sending a signal to a process failed for a reason other than the process being gone.
    #[error("failed to send {signal} to pid {pid}")]
    Signal {
        /// The signal's name.
        signal: &'static str,
        /// The process.
        pid: u32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A cgroup did not reach the frozen state in time; it was thawed again.
    #[error("cgroup {path} did not freeze within {waited:?}")]
    FreezeTimeout {
        /// The cgroup dir.
        path: PathBuf,
        /// How long the agent waited.
        waited: std::time::Duration,
    },

    /// A netlink request to the kernel failed (`tc`/`ip` equivalent named in `action`).
    #[error("failed to {action}")]
    Netlink {
        /// What was being done, e.g. "replace root qdisc tbf on veth0 in /run/netns/x".
        action: String,
        /// The netlink error (the kernel's errno and extended ack text, if any).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A kernel module the fault needs is neither built in nor loadable.
    #[error(
        "kernel module {module} is missing: kernel {kernel} neither has it built in nor under \
         /lib/modules/{kernel}; {hint}"
    )]
    ModuleMissing {
        /// The module, e.g. `sch_netem`.
        module: &'static str,
        /// `uname -r`.
        kernel: String,
        /// Which package ships it.
        hint: String,
    },

    /// A kernel module exists on disk but loading it failed.
    #[error("failed to load kernel module {module} from {path}: {reason}")]
    ModuleLoad {
        /// The module.
        module: &'static str,
        /// The file tried.
        path: PathBuf,
        /// The errno or modprobe output.
        reason: String,
    },

    /// A helper program (`nft`) could not run or reported an error.
    #[error("{program} failed to {action}: {detail}")]
    Command {
        /// The program, e.g. `nft`.
        program: &'static str,
        /// What it was asked to do, e.g. "add table inet faultline_x in /run/netns/a".
        action: String,
        /// Its stderr, or the spawn error.
        detail: String,
    },

    /// Something the agent removed did not go away in time (e.g. a killed stress worker
    /// still running).
    #[error("{what} still present after {waited_ms} ms")]
    StillPresent {
        /// What is still there.
        what: String,
        /// How long the agent waited.
        waited_ms: u64,
    },

    /// A memory fault's `oomScoreAdj` is below the floor the agent may set without
    /// CAP_SYS_RESOURCE (its own score's floor, which its workers inherit).
    #[error(
        "cannot set the stress workers' oom_score_adj to {adj}: going below the agent's own ({own}) needs CAP_SYS_RESOURCE, which the agent does not hold; grant it to the agent (a privileged agent has it) or use {own} or more"
    )]
    OomScoreNeedsCapability {
        /// The score asked for.
        adj: i32,
        /// The agent's own score, as /proc/self/oom_score_adj reads.
        own: String,
    },

    /// An HTTP fault's `tls` files could not be used (unreadable, not PEM, key and
    /// certificate not a pair); the error names the file. Boxed: rustls' errors are
    /// large, and every apply's result carries this type.
    #[error(transparent)]
    HttpsFiles(Box<crate::tls::TlsError>),
}

/// Why a text is not a fault id (`[A-Za-z0-9_-]`, 1 to 48 characters: it names kernel
/// objects such as the nft table `faultline_<id>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultIdError {
    /// Empty, or longer than 48 characters.
    #[error("fault id `{id}` must be 1 to 48 characters")]
    Length {
        /// The text as given.
        id: String,
    },
    /// A character outside `[A-Za-z0-9_-]`.
    #[error("fault id `{id}` may only hold A-Z, a-z, 0-9, `-` and `_`")]
    Charset {
        /// The text as given.
        id: String,
    },
}

/// Why a networkBandwidth spec cannot become tbf options: tbf's burst and limit are
/// 32-bit byte counts, and neither may be 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BandwidthError {
    /// `buffer` (tbf's burst) does not fit 32 bits.
    #[error("buffer {buffer} is above tbf's 4 GiB")]
    BufferTooLarge {
        /// The spec's buffer.
        buffer: Bytes,
    },
    /// `limit` does not fit 32 bits.
    #[error("limit {limit} is above tbf's 4 GiB")]
    LimitTooLarge {
        /// The spec's limit.
        limit: Bytes,
    },
    /// `buffer` or `limit` is 0.
    #[error("buffer and limit must be above 0")]
    Zero,
    /// `minburst` does not fit 32 bits.
    #[error("minburst {minburst} is above tbf's 4 GiB")]
    MinburstTooLarge {
        /// The spec's minburst.
        minburst: Bytes,
    },
    /// `peakrate` without `minburst`, or the other way round: the kernel needs both.
    #[error("peakrate and minburst go together: tbf's peak bucket needs both")]
    PeakWithoutMinburst,
    /// `peakrate` at or below `rate`: the kernel refuses it (`EINVAL`).
    #[error("peakrate {peak} must be above rate {rate}")]
    PeakNotAboveRate {
        /// The spec's peak rate.
        peak: BitRate,
        /// The spec's rate.
        rate: BitRate,
    },
}

/// Why the `modprobe` fallback did not load a module (after `finit_module` refused a
/// compressed file).
#[derive(Debug, thiserror::Error)]
pub enum ModprobeError {
    /// No modprobe in `/usr/sbin`, `/sbin`, `/usr/bin` or `/bin`.
    #[error("no modprobe to fall back to")]
    NotInstalled,
    /// modprobe could not be started.
    #[error("failed to run {program}")]
    Spawn {
        /// The modprobe found.
        program: &'static str,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// modprobe ran and failed.
    #[error("{program} {module}: {stderr}")]
    Failed {
        /// The modprobe found.
        program: &'static str,
        /// The module asked for.
        module: String,
        /// What modprobe printed on stderr, trimmed.
        stderr: String,
    },
}

/// `err` and its sources, joined with `: `, for logs and HTTP error bodies.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}
