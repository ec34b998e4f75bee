//! cgroup v2: the unified hierarchy, one file per controller we use.

pub mod cpu;
pub mod freezer;
pub mod io;
pub mod memory;
