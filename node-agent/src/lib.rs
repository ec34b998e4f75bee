//! The faultline node agent as a library: the agent protocol and its client, and the fault
//! executors that the daemon runs and `faultline run` reuses in-process. The fault
//! vocabulary it executes comes from `faultline-spec`.
//!
//! It is not the run engine (that is the service's): it applies and recovers faults on one
//! node, keeps a journal so no fault outlives its lease, and says what it did.
//!
//! Its modules import one way, from the HTTP edge down to plain data: `daemon` -> `agent`
//! -> `journal`, `protocol` -> `faults` -> `resolve`, `netlink` -> `cgroup`, `netns`,
//! `mntns`, `kmod` -> `target`, `error`. Nothing imports upwards, and no two files import each
//! other.

pub mod agent;
#[cfg(target_os = "linux")]
pub mod cgroup;
pub mod client;
pub mod daemon;
pub mod dnsproxy;
pub mod error;
pub mod faults;
#[cfg(target_os = "linux")]
pub mod httpproxy;
pub mod journal;
#[cfg(target_os = "linux")]
pub mod kmod;
#[cfg(target_os = "linux")]
pub mod mntns;
#[cfg(target_os = "linux")]
pub mod netlink;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod protocol;
#[cfg(target_os = "linux")]
pub mod resolve;
pub mod target;
pub mod tls;

pub use agent::{Agent, AgentError, StartupReport, recover_state_dir};
pub use client::{AgentClient, ClientError};
pub use error::{FaultError, FaultIdError};
pub use faults::{Fault, FaultId, FaultRecord, Recovered};
pub use journal::{Journal, JournalError};
pub use target::Resolved;
