//! cgroup v1 and v2: where hierarchies are mounted, membership, and the controller files
//! the executors read and write (one file per controller, youki-style).

pub mod mount;
pub mod procs;

pub use mount::{CgroupMount, ProcCgroup};
