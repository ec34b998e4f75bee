//! Drives one experiment through the run state machine (DESIGN §3):
//! checking-before -> (injecting -> observing -> recovering)* -> checking-after -> verdict.
//!
//! Every transition and every fault and check result is recorded in the store before the
//! next step. Whatever happens — an abort, a failed apply, a deadline — every fault this
//! run applied is recovered before the run ends; a final sweep asks the agent for any
//! record carrying this run's id prefix, so not even a half-finished apply is left.

mod checks;
mod cluster;
mod compare;
mod drive;
mod faults;
mod machine;
mod options;
mod place;
mod safety;
mod samples;
mod stop;

pub use machine::Runner;
pub use options::{AbortHandle, RunOptions};
