//! Where runs are reported, shared by `run` and `serve`: traces, notifications, Grafana.

use std::path::PathBuf;

use clap::Args;

/// Where traces of runs are sent (for `run`, and `serve`).
#[derive(Debug, Clone, Args)]
pub struct OtlpArgs {
    /// OTLP/HTTP base URL (e.g. http://127.0.0.1:4318; `/v1/traces` is appended): a trace
    /// per run, a span per state, per fault (with the agent that applied it) and per check
    /// and phase, as protobuf. Calls to node agents then carry the fault's span as a W3C
    /// `traceparent`, so an agent run with its own --otlp-endpoint adds its spans under
    /// it. Falls back to
    /// OTEL_EXPORTER_OTLP_ENDPOINT; off when neither is set. OTEL_SERVICE_NAME,
    /// OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS apply.
    #[arg(long, value_name = "URL", env = "FAULTLINE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

impl OtlpArgs {
    /// `--otlp-endpoint`, else the standard `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> Option<String> {
        self.otlp_endpoint
            .clone()
            .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
            .filter(|e| !e.trim().is_empty())
    }
}

/// Where verdicts are sent (for `run`, and `serve`).
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Notification config (YAML: SMTP, Slack webhooks, webhook secret, global routes).
    /// Without it, experiments' `notify:` entries are not sent.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_NOTIFY_CONFIG")]
    pub notify_config: Option<PathBuf>,
    /// Directory whose email.txt / email.html / slack.json override the shipped templates
    /// (needs --notify-config).
    #[arg(long, value_name = "DIR", env = "FAULTLINE_NOTIFY_TEMPLATES")]
    pub notify_templates: Option<PathBuf>,
}

/// Where to annotate runs in Grafana (for `run`, and `serve`).
#[derive(Debug, Clone, Args)]
pub struct GrafanaArgs {
    /// Grafana base URL (needs --grafana-token-file); annotations are off without it.
    #[arg(long, value_name = "URL", env = "FAULTLINE_GRAFANA_URL")]
    pub grafana_url: Option<String>,
    /// File holding a Grafana service-account token (role Editor, or annotations:write).
    #[arg(long, value_name = "FILE", env = "FAULTLINE_GRAFANA_TOKEN_FILE")]
    pub grafana_token_file: Option<PathBuf>,
    /// Dashboard UID to attach the annotations to (default: organisation-wide).
    #[arg(long, value_name = "UID", env = "FAULTLINE_GRAFANA_DASHBOARD_UID")]
    pub grafana_dashboard_uid: Option<String>,
    /// `serve` only: the URL people reach this service at, for the report links in
    /// annotations and the web console's links: behind an ingress that strips a path
    /// prefix, give it (`https://host/chaos/`) and the console's pages, assets and API
    /// calls start with it (default: http://LISTEN).
    #[arg(long, value_name = "URL", env = "FAULTLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
}
