//! What the benches share: the JSON lines `./bench.sh` collects, memory figures read from
//! `/proc`, and a command timed while its process tree's memory is sampled.

pub mod measure;
pub mod procfs;
pub mod report;

pub use measure::{Measured, PSS_EVERY, SAMPLE_EVERY, measure, mib, percentile};
pub use procfs::{measured_exe, rollup_kib, status_kib, wait_quiet};
