//! The run engine: the runner that drives an experiment through the run's states (the
//! domain's), what it injects where ([`inject`]), and the plan of a run ([`plan`]). It
//! reaches the store, the cluster and the observers through the application's ports.

pub mod inject;
pub mod plan;
pub mod runner;
