//! The ports: what the application needs from the outside world, as small traits the
//! adapters implement.

pub mod observe;

pub use observe::{FaultTraces, FnObserver, Observers, RunInfo, RunObserver};
