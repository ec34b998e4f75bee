//! cgroup v1: one hierarchy per controller group, one file per controller we use.

pub mod blkio;
pub mod cpuacct;
pub mod freezer;
pub mod memory;
