//! Outputs that hear about runs as they happen ([`crate::engine::observe::RunObserver`]s):
//! Grafana annotations, the run metric families and Alertmanager silences.

pub mod grafana;
pub mod metrics;
pub mod silences;

pub use grafana::GrafanaObserver;
pub use metrics::MetricsObserver;
pub use silences::SilenceObserver;
