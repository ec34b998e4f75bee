//! Steady-state probes: measure a value the experiment's expectations are judged against.
//! A probe that cannot measure returns an error, which a check counts as not met (never as
//! met: an unreachable Prometheus must not pass a run).
//!
//! In the application, not an adapter behind a port: the engine measures with these
//! directly — an HTTP check builds its probe from the experiment alone, and
//! `RunOptions::prometheus` is the Prometheus client itself (`faultline run`, the demo and
//! the tests hand it over as is) — and there is one implementation of each, so a probe
//! port would be a factory threaded through every caller for nothing. Like the agent
//! client the engine also calls, they import nothing of the service above them.

pub mod error;
pub mod evaluate;
pub mod http;
pub mod prometheus;
pub mod timer;

pub use error::ProbeError;
pub use evaluate::{CheckProbe, CheckSetupError, Evaluation};
pub use http::{HttpProbe, HttpProbeError, HttpSample, LatencyWindow};
pub use prometheus::PrometheusClient;
