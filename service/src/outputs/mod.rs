//! Outputs that hear about runs as they happen ([`crate::application::ports::observe::RunObserver`]s):
//! Grafana annotations, the run metric families, Alertmanager silences and OpenTelemetry
//! traces; the agent health probe behind the agent gauges; and the audit log's JSON-lines
//! file.

pub mod agent_health;
pub mod audit_file;
pub mod grafana;
pub mod grafana_shared;
pub mod metrics;
pub mod silences;
pub mod traces;
pub mod veto;

pub use grafana::GrafanaObserver;
pub use metrics::MetricsObserver;
pub use silences::SilenceObserver;
pub use traces::TraceObserver;
