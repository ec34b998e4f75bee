//! Options of `serve`, and of its cluster mode.

use std::path::PathBuf;

use clap::Args;

use super::outputs::{GrafanaArgs, NotifyArgs, OtlpArgs};
use super::tls::TlsArgs;

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
    /// Bearer tokens, one `role:token` or `role/name:token` per line (roles: viewer,
    /// operator, admin; the name is the caller in the audit log, default `role#line`).
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
    /// How long a fault without duration (a Chaos Mesh chaos without `duration`) holds
    /// when its experiment sets no `guard.maxDuration`: until the run is aborted, at most
    /// this [default: 1h].
    #[arg(long, value_name = "DURATION", env = "FAULTLINE_MAX_DURATION")]
    pub max_duration: Option<String>,
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
    /// GitLab CI ID tokens (YAML): the GitLab instance that issues them (its keys are
    /// found through /.well-known/openid-configuration), the audience jobs request, and
    /// the trust policies binding a job's claims (project_id, ref, environment, ...) to
    /// the experiments, namespaces and role it gets. A job then calls the API with its
    /// `id_tokens:` JWT instead of a static token; `--tokens-file` becomes optional.
    /// `faultline config example id-tokens` prints one; docs/ci-identity.md.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_ID_TOKEN_CONFIG")]
    pub id_token_config: Option<String>,
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
    /// HTTPS for the API and to the agents.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Where runs are stored.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Sign-in for people (YAML): the OIDC provider (GitLab, Keycloak, ...; its issuer
    /// URL), this service's client ID and `clientSecretFile`, the scopes, the role map (a
    /// claim such as `groups` and which values give viewer, operator or admin; highest
    /// wins, no match is refused) and `sessionTtl` [default: 8h]. Enables /auth/login,
    /// /auth/callback (register `<public-url>/auth/callback` at the provider) and
    /// /auth/logout, and a "Sign in with SSO" button in the console; the session cookie
    /// works beside bearer tokens. docs/sso.md.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_SSO_CONFIG")]
    pub sso_config: Option<String>,
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
            ("maxDuration", "--max-duration", self.max_duration.clone()),
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
            (
                "idTokenConfig",
                "--id-token-config",
                self.id_token_config.clone(),
            ),
        ]
        .into_iter()
        .chain(self.tls.given())
        .chain([
            ("store", "--store", self.store.store.clone()),
            (
                "storePasswordFile",
                "--store-password-file",
                self.store.store_password_file.clone(),
            ),
            (
                "storeLeaseTtl",
                "--store-lease-ttl",
                self.store.store_lease_ttl.clone(),
            ),
            ("ssoConfig", "--sso-config", self.sso_config.clone()),
        ])
        .filter_map(|(k, f, v)| v.map(|v| (k, f, v)))
        .collect()
    }
}

/// Where `serve` stores runs: SQLite on one machine, PostgreSQL for several replicas.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// `sqlite` (the state directory's file) or a postgres://USER@HOST:PORT/DB URL shared
    /// by every replica (no password in it: see --store-password-file) [default: sqlite].
    /// TLS to the database as libpq asks for it, in the URL's query:
    /// `?sslmode=verify-full&sslrootcert=CA.pem` (modes disable, prefer (the default),
    /// require, verify-ca, verify-full; `sslcert`/`sslkey` for a client certificate).
    /// docs/tls.md says what each mode checks.
    #[arg(long, value_name = "URL", env = "FAULTLINE_STORE")]
    pub store: Option<String>,
    /// File holding the PostgreSQL password.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_STORE_PASSWORD_FILE")]
    pub store_password_file: Option<String>,
    /// How long a replica's lease on the runs it drives lasts without a heartbeat; when
    /// it lapses another replica adopts them [default: 5s].
    #[arg(long, value_name = "DURATION", env = "FAULTLINE_STORE_LEASE_TTL")]
    pub store_lease_ttl: Option<String>,
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
