//! Steady-state probes: measure a value the experiment's expectations are judged against.
//! A probe that cannot measure returns an error, which a check counts as not met (never as
//! met: an unreachable Prometheus must not pass a run).

pub mod error;
pub mod evaluate;
pub mod http;
pub mod prometheus;

pub use error::ProbeError;
pub use evaluate::{CheckProbe, CheckSetupError, Evaluation};
pub use http::{HttpProbe, HttpProbeError, HttpSample, LatencyWindow};
pub use prometheus::PrometheusClient;
