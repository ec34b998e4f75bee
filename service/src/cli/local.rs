//! Options of the verbs that work on this machine: `validate`, `run`, `demo`, `recover`,
//! `config`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::outputs::{GrafanaArgs, NotifyArgs, OtlpArgs};

/// Options of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Experiment files (YAML or JSON; `---` separates several experiments; `-` is stdin).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print each experiment in faultline's native form (Chaos Mesh manifests translated).
    #[arg(long)]
    pub explain: bool,
    /// Format of `--explain` output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub format: OutputFormat,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// YAML, as you would write it.
    Yaml,
    /// JSON, as the API takes it.
    Json,
}

/// Where local runs keep their state.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// State directory: the run store (`faultline.db`), the in-process agent's journal
    /// (`agent/`) and reports (`reports/<run>/`).
    #[arg(
        long,
        value_name = "DIR",
        env = "FAULTLINE_STATE_DIR",
        default_value = "/var/lib/faultline"
    )]
    pub state_dir: PathBuf,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (YAML or JSON; several documents run one after the other).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// State and report location.
    #[command(flatten)]
    pub state: StateArgs,
    /// Prometheus server for `prometheus:` checks.
    #[arg(long, value_name = "URL", env = "FAULTLINE_PROMETHEUS_URL")]
    pub prometheus: Option<String>,
    /// Lease of each fault: if this process dies, the journal lets the next run (or
    /// `faultline recover`) remove the fault; renewed every third of it while running.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub lease: faultline_spec::Duration,
    /// Print what would be injected, in order, and inject nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Grafana annotations of the fault windows and verdicts.
    #[command(flatten)]
    pub grafana: GrafanaArgs,
    /// Where verdicts are sent.
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// OpenTelemetry trace export.
    #[command(flatten)]
    pub otlp: OtlpArgs,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example config file.
    Example {
        /// Which file.
        #[arg(value_enum, default_value_t = ConfigKind::Serve)]
        kind: ConfigKind,
    },
}

/// The config files faultline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigKind {
    /// `serve --config`: every serve setting (each also a FAULTLINE_* variable).
    Serve,
    /// `serve --gitlab-config`: webhook projects and secrets, rules, GitLab's API.
    Gitlab,
    /// `run`/`serve --notify-config`: SMTP, Slack, webhooks, routes.
    Notify,
    /// `serve --id-token-config`: GitLab CI ID tokens' issuer, audience, trust policies.
    IdTokens,
    /// `serve --sso-config`: people's sign-in: the OIDC provider, client, role map.
    Sso,
}
