//! The experiment spec (DESIGN §4): typed values, fault kinds, targets, and (in later
//! modules) the native document, its validating decoder and the Chaos Mesh import.

pub mod fault;
pub mod target;
pub mod units;

pub use fault::{Direction, FaultKind, NetemParams, NetworkScope, Signal};
pub use target::LocalTarget;
pub use units::{BitRate, Bytes, Duration, Percent, UnitError};
