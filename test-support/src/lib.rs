//! The fixtures faultline's test and bench binaries share: network namespaces, cgroups,
//! child processes and a test resolver behind guards that remove them even when a test
//! panics, ports handed over as bound sockets rather than as numbers, the real peers the
//! tests start
//! (Prometheus, Alertmanager, an SMTP server, a web server), protocol-level fakes of the
//! services that cannot run here (GitLab, Grafana, Slack and webhooks, OTLP, the
//! Kubernetes API), polling with deadlines, and the benches' figures.
//!
//! It is not a place for helpers that need the `faultline` or `faultline-agent` crates'
//! types: those stay in each crate's `tests/support/`. It depends on no workspace crate,
//! so no test build compiles a workspace crate twice (see `Cargo.toml`).
//!
//! A test that needs what this machine lacks (a peer's binary, root) is told so by the
//! helper, which prints `SKIPPED: ...` naming what is missing.

pub mod bench;
pub mod certs;
#[cfg(target_os = "linux")]
pub mod cgroup;
#[cfg(target_os = "linux")]
pub mod disk;
#[cfg(target_os = "linux")]
pub mod dns;
pub mod fakes;
pub mod http;
pub mod names;
#[cfg(target_os = "linux")]
pub mod net;
pub mod peers;
pub mod ports;
pub mod process;
pub mod wait;

#[cfg(target_os = "linux")]
pub use cgroup::FreezerCgroup;
#[cfg(target_os = "linux")]
pub use disk::{LoopDev, MountedIn};
#[cfg(target_os = "linux")]
pub use dns::{ResolvConf, UdpResponder};
pub use http::{Frame, client, read_sse};
pub use names::{next_number, unique};
#[cfg(target_os = "linux")]
pub use net::{Netns, NetnsPair, NetnsTargets, in_netns};
pub use peers::{EmptySite, empty_http_server, http_server};
pub use ports::{Reserved, closed_port, listener, tokio_listener, wait_listening};
pub use process::{Proc, proc_state, sh, sleeper, wait_stopped};
pub use wait::{wait_for, wait_for_async, wait_until, wait_until_async};
