//! Outputs that hear about runs as they happen ([`crate::engine::observe::RunObserver`]s):
//! Grafana annotations and the run metric families.

pub mod grafana;
pub mod metrics;

pub use grafana::GrafanaObserver;
pub use metrics::MetricsObserver;
