//! cgroup v1 and v2: where hierarchies are mounted, membership, and the controller files
//! the executors read and write (one file per controller, youki-style).

pub mod file;
pub mod mount;
pub mod procs;
pub mod testing;
pub mod usage;
pub mod v1;
pub mod v2;

pub use mount::{CgroupMount, ProcCgroup};
pub use testing::TestCgroup;
