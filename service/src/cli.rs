//! The command line: global options and one subcommand per verb. Each subcommand's
//! `--help` explains it with an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// faultline: chaos experiments with steady-state verdicts, triggered from CI.
#[derive(Debug, Parser)]
#[command(
    name = "faultline",
    version,
    about,
    long_about = "faultline runs chaos experiments (CPU/memory stress, network delay/loss/partition, \
                  process and pod kills) against Kubernetes pods or local processes, checks a \
                  steady state before, during and after, and reports a pass/fail verdict.",
    after_help = "Example:\n  faultline validate examples/chaos-mesh/*.yaml\n  faultline validate --explain examples/native/checkout-under-stress.yaml"
)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Human, env = "FAULTLINE_LOG_FORMAT")]
    pub log_format: LogFormatArg,
    /// More log detail: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
// `serve` has many more options than the rest; the value is parsed once per process, so
// boxing it would only make every match noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check experiment files (native or Chaos Mesh) and report every error.
    #[command(
        after_help = "Exit status: 0 when every file is valid, 2 when any is not.\n\n\
Examples:\n  faultline validate examples/chaos-mesh/stress-cpu.yaml\n  \
faultline validate --explain --format json examples/chaos-mesh/workflow.yaml\n\n\
An error names the file, line, column, field path and a fix:\n  \
stress-memory.yaml:14:3: spec.labelSelectors: unknown field; `labelSelectors` belongs under `spec.selector`; indent it under `selector:`"
    )]
    Validate(ValidateArgs),
    /// Run experiments on this machine, with the agent in-process.
    #[command(
        long_about = "Runs each experiment of FILE on this machine: steady-state checks before, \
                      faults through the in-process agent (journaled under --state-dir, so a \
                      killed run is cleaned up by the next run or `faultline recover`), checks \
                      during and after, a verdict, and HTML/JSON/JUnit reports. Ctrl-C or \
                      SIGTERM aborts: every fault is recovered first.",
        after_help = "Exit status: 0 passed, 1 failed, 2 aborted, error or invalid input.\n\n\
Examples:\n  sudo faultline run examples/native/local-netns-and-process.yaml\n  \
sudo faultline run --dry-run experiment.yaml\n  \
sudo faultline run --prometheus http://127.0.0.1:9090 experiment.yaml"
    )]
    Run(RunArgs),
    /// Run the self-contained demo: a web server in its own network namespace, three
    /// experiments against it (passed, failed, aborted), and proof nothing was left behind.
    #[command(
        after_help = "Needs root (it creates a network namespace and qdiscs).\n\nExample:\n  sudo faultline demo"
    )]
    Demo(StateArgs),
    /// Serve the HTTP API, webhooks and metrics.
    #[command(
        long_about = "Serves /api/v1 (runs: create, list, get, abort, events as SSE, reports; \
                      experiments: the catalog webhooks and schedules run by name; schedules; \
                      emergency-stop), /webhooks/gitlab (with --gitlab-config), \
                      /webhooks/alertmanager (firing alerts abort the runs that list them in \
                      abortOnAlerts), /healthz, /readyz and /metrics. Runs are driven in the \
                      background; faults go through the in-process agent (journaled under \
                      --state-dir) or a node agent (--agent). With --kubernetes (cluster mode) \
                      pod targets are resolved through the Kubernetes API, podKill/podFailure \
                      run through it, other faults go to the agent of each pod's node, and the \
                      replicas elect a leader with a Lease (only the leader fires schedules). \
                      Catalog experiments with spec.schedule fire at their cron times (UTC, or \
                      the zone of `schedule: { cron, timezone }`). \
                      SIGTERM or Ctrl-C aborts every live run, waits for its faults to be \
                      recovered, then exits. On start, faults a killed process left are \
                      recovered from the journal and runs it left unfinished are marked error.\n\n\
                      Every setting can come from a flag, a FAULTLINE_* environment variable or \
                      the --config file; a flag beats its variable, which beats the file, which \
                      beats the default. The variable of a config key is FAULTLINE_ and the key in \
                      upper snake case (agentTokenFile -> FAULTLINE_AGENT_TOKEN_FILE); each \
                      option below shows its variable. `faultline config example serve` prints \
                      a commented config. A bad config (unknown key, bad value) stops the start \
                      with the file, line and key, before anything is opened or listened on. \
                      Secrets are only read from files (tokensFile, agentTokenFile, \
                      grafanaTokenFile), never inline.",
        after_help = "Examples:\n  faultline serve --config /etc/faultline/serve.yaml\n  \
FAULTLINE_LISTEN=0.0.0.0:8080 faultline serve --config serve.yaml --prometheus http://127.0.0.1:9090\n  \
faultline serve --tokens-file /etc/faultline/tokens   # lines `role:token`, role viewer|operator|admin\n  \
faultline serve --insecure-no-auth --listen 127.0.0.1:8080 --state-dir /tmp/fl\n  \
faultline serve --tokens-file tokens --gitlab-config gitlab.yaml --experiments examples/native --public-url https://faultline.example.org\n  \
faultline serve --tokens-file tokens --agent http://10.0.0.5:7150 --agent-token-file agent.token\n  \
faultline serve --tokens-file tokens --kubernetes --agent-token-file /var/run/faultline/agent-token --kube-qps 100 --kube-burst 200"
    )]
    Serve(ServeArgs),
    /// Ask a running server to run an experiment; the exit code is the verdict.
    #[command(
        long_about = "Posts one experiment to a faultline server and prints the run's id and URL. \
                      With --wait it follows the run's progress, prints the verdict and a table \
                      of every check per phase (value, min, max, expectation, result), writes \
                      the reports asked for and exits with the verdict. This is what the GitLab \
                      template in ci/faultline.gitlab-ci.yml runs.",
        after_help = "Exit status: 0 passed, 1 failed, 2 aborted, error, invalid input, an unreachable \
server or --timeout (the run goes on on the server; the message names it and its URL).\n\n\
Example (a GitLab job):\n  faultline trigger --server \"$FAULTLINE_URL\" --wait --timeout 15m \\\n    \
--junit report.xml --html report.html --metrics metrics.txt experiment.yaml"
    )]
    Trigger(TriggerArgs),
    /// Remove whatever faults a killed run left behind, from the agent's journal.
    #[command(
        after_help = "Exit status: 0 when nothing is left applied, 1 otherwise.\n\nExample:\n  sudo faultline recover --state-dir /var/lib/faultline"
    )]
    Recover(StateArgs),
    /// Emergency stop: abort every run on a server and refuse new ones from every trigger
    /// (API, webhooks, schedules) until `faultline resume`; survives a server restart.
    #[command(
        name = "stop-all",
        after_help = "Needs an operator or admin token.\n\nExample:\n  faultline stop-all --server http://127.0.0.1:8080 --token-file token --reason \"checkout incident\""
    )]
    StopAll(StopAllArgs),
    /// Release the emergency stop (admin token).
    #[command(
        after_help = "Example:\n  faultline resume --server http://127.0.0.1:8080 --token-file admin.token"
    )]
    Resume(ServerArgs),
    /// Config file helpers.
    #[command(
        after_help = "Examples:\n  faultline config example > /etc/faultline/serve.yaml\n  faultline config example gitlab > /etc/faultline/gitlab.yaml"
    )]
    Config {
        /// What to do.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the version.
    #[command(after_help = "Example:\n  faultline version")]
    Version,
}

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
    /// annotations (default: http://LISTEN).
    #[arg(long, value_name = "URL", env = "FAULTLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// Options of `serve`. Every one is also a key of the `--config` file and a `FAULTLINE_*`
/// variable (the key in upper snake case); a flag beats its variable, which beats the file.
/// Values stay text here: [`faultline::config`] reads them, so a bad one gets the same
/// message from any source.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve config file (YAML, keys as in `faultline config example serve`); relative
    /// paths in it start at its directory.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", env = "FAULTLINE_LISTEN")]
    pub listen: Option<String>,
    /// State directory: the store (`faultline.db`), the in-process agent's journal
    /// (`agent/`) and reports [default: /var/lib/faultline].
    #[arg(long, value_name = "DIR", env = "FAULTLINE_STATE_DIR")]
    pub state_dir: Option<String>,
    /// Bearer tokens, one `role:token` per line (roles: viewer, operator, admin).
    #[arg(long, value_name = "FILE", env = "FAULTLINE_TOKENS_FILE")]
    pub tokens_file: Option<String>,
    /// Serve without authentication (everyone is admin); refused unless the listen
    /// address is a loopback one.
    #[arg(long, value_name = "BOOL", env = "FAULTLINE_INSECURE_NO_AUTH", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub insecure_no_auth: Option<String>,
    /// A node agent to inject faults through, instead of the in-process agent.
    #[arg(long, value_name = "URL", env = "FAULTLINE_AGENT_URL")]
    pub agent: Option<String>,
    /// File holding the node agents' bearer token (with --agent, or --kubernetes where
    /// it is the mounted Secret shared by every agent).
    #[arg(long, value_name = "FILE", env = "FAULTLINE_AGENT_TOKEN_FILE")]
    pub agent_token_file: Option<String>,
    /// Prometheus server for `prometheus:` checks.
    #[arg(long, value_name = "URL", env = "FAULTLINE_PROMETHEUS_URL")]
    pub prometheus: Option<String>,
    /// Lease of each fault, renewed every third of it while the run lives [default: 30s].
    #[arg(long, value_name = "DURATION", env = "FAULTLINE_LEASE")]
    pub lease: Option<String>,
    /// Grafana annotations of the fault windows and verdicts.
    #[command(flatten)]
    pub grafana: GrafanaArgs,
    /// Where verdicts are sent.
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// GitLab integration (YAML): projects and their webhook secrets, rules mapping
    /// events to catalog experiments, and the REST API for commit statuses and MR notes.
    /// Enables `POST /webhooks/gitlab`. `faultline config example gitlab` prints one.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_GITLAB_CONFIG")]
    pub gitlab_config: Option<String>,
    /// Alertmanager (API v2) for `spec.silenceAlerts`: a silence with the experiment's
    /// matchers is held for each run's fault window and expired when the run ends.
    /// (Firing alerts reach runs the other way: point an Alertmanager webhook receiver at
    /// /webhooks/alertmanager.)
    #[arg(long, value_name = "URL", env = "FAULTLINE_ALERTMANAGER_URL")]
    pub alertmanager: Option<String>,
    /// Load every experiment file (*.yaml, *.yml, *.json) of DIR into the catalog at
    /// start, replacing same-named ones; a bad file stops the start with its errors.
    #[arg(long, value_name = "DIR", env = "FAULTLINE_EXPERIMENTS_DIR")]
    pub experiments: Option<String>,
    /// OpenTelemetry trace export.
    #[command(flatten)]
    pub otlp: OtlpArgs,
    /// Kubernetes targets and pod faults.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl ServeArgs {
    /// What the flags and `FAULTLINE_*` variables say, as (config key, flag, value).
    pub fn given(&self) -> Vec<(&'static str, &'static str, String)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let c = &self.cluster;
        let list = (!c.protect_namespaces.is_empty()).then(|| c.protect_namespaces.join(","));
        [
            ("listen", "--listen", self.listen.clone()),
            ("stateDir", "--state-dir", self.state_dir.clone()),
            ("tokensFile", "--tokens-file", self.tokens_file.clone()),
            (
                "insecureNoAuth",
                "--insecure-no-auth",
                self.insecure_no_auth.clone(),
            ),
            ("lease", "--lease", self.lease.clone()),
            ("prometheusUrl", "--prometheus", self.prometheus.clone()),
            (
                "alertmanagerUrl",
                "--alertmanager",
                self.alertmanager.clone(),
            ),
            ("agentUrl", "--agent", self.agent.clone()),
            (
                "agentTokenFile",
                "--agent-token-file",
                self.agent_token_file.clone(),
            ),
            ("experimentsDir", "--experiments", self.experiments.clone()),
            (
                "gitlabConfig",
                "--gitlab-config",
                self.gitlab_config.clone(),
            ),
            (
                "notifyConfig",
                "--notify-config",
                path(&self.notify.notify_config),
            ),
            (
                "notifyTemplates",
                "--notify-templates",
                path(&self.notify.notify_templates),
            ),
            ("publicUrl", "--public-url", self.grafana.public_url.clone()),
            (
                "grafanaUrl",
                "--grafana-url",
                self.grafana.grafana_url.clone(),
            ),
            (
                "grafanaTokenFile",
                "--grafana-token-file",
                path(&self.grafana.grafana_token_file),
            ),
            (
                "grafanaDashboardUid",
                "--grafana-dashboard-uid",
                self.grafana.grafana_dashboard_uid.clone(),
            ),
            (
                "otlpEndpoint",
                "--otlp-endpoint",
                self.otlp.otlp_endpoint.clone(),
            ),
            ("kubernetes", "--kubernetes", c.kubernetes.clone()),
            (
                "agentSelector",
                "--agent-selector",
                c.agent_selector.clone(),
            ),
            (
                "agentNamespace",
                "--agent-namespace",
                c.agent_namespace.clone(),
            ),
            ("agentPort", "--agent-port", c.agent_port.clone()),
            ("kubeQps", "--kube-qps", c.kube_qps.clone()),
            ("kubeBurst", "--kube-burst", c.kube_burst.clone()),
            ("pauseImage", "--pause-image", c.pause_image.clone()),
            ("protectNamespaces", "--protect-namespace", list),
            ("leaderLease", "--leader-lease", c.leader_lease.clone()),
        ]
        .into_iter()
        .filter_map(|(k, f, v)| v.map(|v| (k, f, v)))
        .collect()
    }
}

/// Cluster mode of `serve` (Kubernetes pod targets). The Helm chart sets these names.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Cluster mode: resolve pod targets and run podKill/podFailure through the Kubernetes
    /// API (in-cluster service account, else KUBECONFIG), send node faults to the agent
    /// of each pod's node, and compete for the leader Lease.
    #[arg(long, value_name = "BOOL", env = "FAULTLINE_KUBERNETES", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub kubernetes: Option<String>,
    /// Label selector of the agent DaemonSet's pods; the agent of a node is the ready one
    /// on that node [default: app.kubernetes.io/name=faultline-agent].
    #[arg(long, value_name = "SELECTOR", env = "FAULTLINE_AGENT_SELECTOR")]
    pub agent_selector: Option<String>,
    /// Namespace of the agent pods [default: $POD_NAMESPACE, else `faultline`].
    #[arg(long, value_name = "NS", env = "FAULTLINE_AGENT_NAMESPACE")]
    pub agent_namespace: Option<String>,
    /// Port the agents listen on, on their pod IP [default: 7150].
    #[arg(long, value_name = "PORT", env = "FAULTLINE_AGENT_PORT")]
    pub agent_port: Option<String>,
    /// Client-side rate limit on the Kubernetes API: requests a second on average
    /// [default: 50].
    #[arg(long, value_name = "QPS", env = "FAULTLINE_KUBE_QPS")]
    pub kube_qps: Option<String>,
    /// Client-side rate limit on the Kubernetes API: requests allowed in a burst
    /// [default: 100].
    #[arg(long, value_name = "N", env = "FAULTLINE_KUBE_BURST")]
    pub kube_burst: Option<String>,
    /// Image podFailure swaps into the pods' containers until recovery
    /// [default: registry.k8s.io/pause:3.10].
    #[arg(long, value_name = "IMAGE", env = "FAULTLINE_PAUSE_IMAGE")]
    pub pause_image: Option<String>,
    /// A namespace no run may touch, whatever the experiment says; repeat for several.
    /// Given, the list replaces the default [default: kube-system and $POD_NAMESPACE].
    #[arg(
        long = "protect-namespace",
        value_name = "NS",
        env = "FAULTLINE_PROTECT_NAMESPACES",
        value_delimiter = ','
    )]
    pub protect_namespaces: Vec<String>,
    /// Name of the coordination.k8s.io Lease (in the service's namespace) the replicas
    /// compete for; one of them leads [default: faultline-leader].
    #[arg(long, value_name = "NAME", env = "FAULTLINE_LEADER_LEASE")]
    pub leader_lease: Option<String>,
}

/// Options of `trigger`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// Which server, and the token to call it with.
    #[command(flatten)]
    pub api: ServerArgs,
    /// Follow the run's progress and exit with its verdict.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: write the JUnit report here.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub junit: Option<PathBuf>,
    /// With --wait: write the HTML report here.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub html: Option<PathBuf>,
    /// With --wait: write the GitLab metrics report (OpenMetrics text) here: each check's
    /// value, min, max and result per phase, the verdict and the run's duration.
    #[arg(long, value_name = "FILE", requires = "wait")]
    pub metrics: Option<PathBuf>,
    /// With --wait: give up waiting after this long, e.g. `15m`. Exit 2; the run goes on
    /// on the server, and the reports asked for show how far it got.
    #[arg(long, value_name = "DURATION", requires = "wait")]
    pub timeout: Option<faultline_spec::Duration>,
    /// Plan only: print what would be injected, inject nothing. In a merge-request
    /// pipeline the server also posts the plan as a note on the merge request.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// Inside GitLab CI, do not send the job's pipeline (CI_PROJECT_ID, CI_COMMIT_SHA,
    /// CI_PIPELINE_ID, CI_MERGE_REQUEST_IID, ...) with the run; by default the server then
    /// posts the commit status and the MR note for it.
    #[arg(long)]
    pub no_gitlab_context: bool,
    /// The experiment file (YAML or JSON, exactly one experiment).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// How to reach a faultline server (for `trigger`, `stop-all`, `resume`).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The faultline server, e.g. `https://faultline.example.org`.
    #[arg(long, value_name = "URL", env = "FAULTLINE_URL")]
    pub server: String,
    /// Bearer token (operator or admin).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "FAULTLINE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// File holding the bearer token.
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
}

/// Options of `stop-all`.
#[derive(Debug, Args)]
pub struct StopAllArgs {
    /// Which server, and the token (operator or admin).
    #[command(flatten)]
    pub api: ServerArgs,
    /// Why: shown on every aborted run and on every refused trigger.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut argv = vec!["faultline", "serve"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|c| match c.command {
            Command::Serve(s) => s,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_config_key_has_a_flag_whose_variable_follows_the_key() {
        use faultline::config::{KEYS, env_var};
        let cmd = Cli::command();
        let serve_cmd = cmd.find_subcommand("serve").unwrap();
        let mut envs: Vec<String> = serve_cmd
            .get_arguments()
            .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
            .filter(|e| e != "FAULTLINE_CONFIG" && e != "FAULTLINE_LOG_FORMAT")
            .collect();
        envs.sort();
        let mut want: Vec<String> = KEYS.iter().map(|k| env_var(k)).collect();
        want.sort();
        assert_eq!(envs, want);
        // `given` names every key once, with the flag clap knows.
        let s = serve(&[
            "--listen=1",
            "--state-dir=1",
            "--tokens-file=1",
            "--insecure-no-auth",
            "--lease=1",
            "--prometheus=1",
            "--alertmanager=1",
            "--agent=1",
            "--agent-token-file=1",
            "--experiments=1",
            "--gitlab-config=1",
            "--notify-config=1",
            "--notify-templates=1",
            "--public-url=1",
            "--grafana-url=1",
            "--grafana-token-file=1",
            "--grafana-dashboard-uid=1",
            "--otlp-endpoint=1",
            "--kubernetes",
            "--agent-selector=1",
            "--agent-namespace=1",
            "--agent-port=1",
            "--kube-qps=1",
            "--kube-burst=1",
            "--pause-image=1",
            "--protect-namespace=1",
            "--leader-lease=1",
        ])
        .unwrap();
        let given = s.given();
        let keys: Vec<&str> = given.iter().map(|(k, _, _)| *k).collect();
        assert_eq!(keys, KEYS);
        for (_, flag, _) in &given {
            let long = flag.trim_start_matches("--");
            assert!(
                serve_cmd
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long)),
                "{flag}"
            );
        }
    }

    #[test]
    fn boolean_flags_take_an_optional_value() {
        assert_eq!(
            serve(&["--kubernetes"])
                .unwrap()
                .cluster
                .kubernetes
                .as_deref(),
            Some("true")
        );
        assert_eq!(
            serve(&["--kubernetes=false"])
                .unwrap()
                .cluster
                .kubernetes
                .as_deref(),
            Some("false")
        );
        assert_eq!(serve(&[]).unwrap().cluster.kubernetes, None);
        // Without `=`, the next word is not taken as the flag's value.
        assert!(serve(&["--insecure-no-auth", "stray"]).is_err());
    }
}
