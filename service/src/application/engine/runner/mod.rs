//! Drives one experiment through the run state machine (DESIGN §3):
//! checking-before -> (injecting -> observing -> recovering)* -> checking-after -> verdict.
//!
//! Every transition and every fault and check result is recorded in the store before the
//! next step. Whatever happens — an abort, a failed apply, a deadline — every fault this
//! run applied is recovered before the run ends; a final sweep asks the agent for any
//! record carrying this run's id prefix, so not even a half-finished apply is left.

mod active;
mod checks;
mod compare;
mod drive;
mod executor;
mod guard;
mod hosts;
mod lifecycle;
mod machine;
mod nodes;
mod options;
mod preflight;
mod repeat;
mod restart;
mod safety;
mod samples;
mod select;
mod status_check;
mod status_verdicts;
mod stop;
mod task;

pub use machine::Runner;
pub use options::{AbortHandle, RunOptions};
pub use restart::{Confirmation, Outcome, confirm_recovered};
