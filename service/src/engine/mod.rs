//! The run engine: the state machine, its events, and the runner that drives an
//! experiment through them.

pub mod event;
pub mod inject;
pub mod observe;
pub mod plan;
pub mod progress;
pub mod runner;
pub mod state;

pub use event::{RunEvent, StoredEvent};
pub use state::RunState;
