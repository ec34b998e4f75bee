//! The run engine: the state machine, its events, and the runner that drives an
//! experiment through them.

pub mod inject;
pub mod plan;
pub mod runner;
