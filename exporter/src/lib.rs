//! faultline's observability seam: every Prometheus metric family, the log/tracing set-up
//! and (later) the Grafana annotation client. The service and the node agent only call it;
//! metric names live here and nowhere else.
#![forbid(unsafe_code)]

pub mod agent_metrics;
pub mod logging;
pub mod service_metrics;

pub use agent_metrics::{AgentMetrics, AgentOp, RecoveryReason};
pub use logging::LogFormat;
pub use service_metrics::ServiceMetrics;
