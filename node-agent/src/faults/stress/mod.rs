//! stressCpu / stressMemory: worker processes placed in the target's cgroups.
//!
//! - [`worker`]: the worker side (this executable re-exec'ed with a marker argv);
//! - [`workers`]: spawning, placing, finding and killing workers;
//! - [`events`]: what happens to workers after apply (an OOM kill), for the agent core;
//! - [`executor`]: the [`Fault`](super::Fault) implementation.

pub mod events;
pub mod executor;
pub mod worker;
pub mod workers;

pub use events::{StressEvent, subscribe};
pub use executor::Stress;
pub use worker::run_stress_worker_if_requested;
pub use workers::set_worker_exe;
