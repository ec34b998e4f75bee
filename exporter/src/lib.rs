//! faultline's observability seam: every Prometheus metric family (and the GitLab metrics
//! report a CI job writes), the log/tracing set-up, OpenTelemetry trace export (OTLP/HTTP)
//! and the Grafana annotation client. The service and the node agent only call it; metric
//! names live here and nowhere else.
#![forbid(unsafe_code)]

pub mod agent_metrics;
pub mod agent_spans;
pub mod grafana;
pub mod id_token_metrics;
pub mod logging;
pub mod metrics_report;
pub mod run_metrics;
pub mod service_metrics;
mod text;
pub mod tls_provider;
pub mod trace_context;
pub mod traces;

pub use agent_metrics::{AgentMetrics, AgentOp, RecoveryReason};
pub use agent_spans::{AgentCall, AgentSpan, AgentTracer};
pub use id_token_metrics::IdTokenMetrics;
pub use logging::LogFormat;
pub use metrics_report::{MetricsReport, PhaseValues};
pub use run_metrics::{Bound, RunMetrics};
pub use service_metrics::ServiceMetrics;
pub use trace_context::{TRACEPARENT, TraceParent};
pub use traces::{Tracing, TracingError};
