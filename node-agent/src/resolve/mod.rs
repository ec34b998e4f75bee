//! Target resolution on this node: from a [`LocalTarget`](faultline_spec::LocalTarget) (pid,
//! process name, cgroup path, netns, container ID) to the processes, cgroup directories and
//! network namespace a fault acts on. Synchronous: it only reads `/proc` and `/sys/fs/cgroup`.
//!
//! Every reader takes its roots from a [`Host`], so the parsing is tested against fixture
//! trees in a tempdir as well as against real processes.
//!
//! One file per kind of target (`process`, `cgroup`, `netns`, `container`), each adding
//! its resolver to [`Host`] (`host`, the reads they share); `dispatch` picks the resolver
//! for a target.

mod cgroup;
mod container;
mod dispatch;
#[cfg(test)]
mod fixture;
mod host;
mod netns;
mod process;

pub use container::{Containers, container_id_in};
pub use dispatch::{resolve, resolve_all};
pub use host::{Host, Stat, is_alive, parse_stat};
