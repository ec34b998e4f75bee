//! The serve settings: [`ServeLayer`] holds what one source (file, env, flags) says, every
//! key optional; layers merge by precedence and [`ServeLayer::resolve`] fills the defaults
//! and checks the keys that depend on each other.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use faultline_agent::tls::{ClientTls, ServerTls};
use faultline_spec::Duration;

use super::value::{HttpUrl, PositiveDuration, Raw, Setting, ValueError};

/// The environment variable of a config key: `FAULTLINE_` and the key in upper snake case
/// (`agentTokenFile` -> `FAULTLINE_AGENT_TOKEN_FILE`).
pub fn env_var(key: &str) -> String {
    let mut out = String::from("FAULTLINE_");
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

macro_rules! layer {
    ($($(#[doc = $doc:literal])* $field:ident: $ty:ty = $key:literal,)*) => {
        /// What one source says about each serve setting; `None` = not said.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct ServeLayer {
            $($(#[doc = $doc])* pub $field: Option<$ty>,)*
        }

        /// Every key of the serve config file, in the order `config example serve` shows.
        pub const KEYS: &[&str] = &[$($key),*];

        impl ServeLayer {
            /// This layer over `lower`: a key this one sets wins.
            pub fn over(self, lower: ServeLayer) -> ServeLayer {
                ServeLayer { $($field: self.$field.or(lower.$field),)* }
            }

            /// Sets `key` from its raw value. `Ok(false)`: no such key.
            pub fn set(&mut self, key: &str, raw: Raw, base: &Path) -> Result<bool, ValueError> {
                match key {
                    $($key => self.$field = Some(<$ty as Setting>::read(raw, base)?),)*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };
}

layer! {
    /// Address to listen on.
    listen: SocketAddr = "listen",
    /// Store, journal and reports directory.
    state_dir: PathBuf = "stateDir",
    /// Bearer tokens, `role:token` or `role/name:token` lines.
    tokens_file: PathBuf = "tokensFile",
    /// Serve without authentication (loopback only).
    insecure_no_auth: bool = "insecureNoAuth",
    /// Lease of each fault.
    lease: Duration = "lease",
    /// Bound of a fault without duration.
    max_duration: PositiveDuration = "maxDuration",
    /// Prometheus for `prometheus:` checks.
    prometheus_url: HttpUrl = "prometheusUrl",
    /// Alertmanager for `spec.silenceAlerts`.
    alertmanager_url: HttpUrl = "alertmanagerUrl",
    /// A node agent instead of the in-process one.
    agent_url: HttpUrl = "agentUrl",
    /// The agents' bearer token.
    agent_token_file: PathBuf = "agentTokenFile",
    /// Experiments loaded into the catalog at start.
    experiments_dir: PathBuf = "experimentsDir",
    /// GitLab integration config.
    gitlab_config: PathBuf = "gitlabConfig",
    /// Notification config.
    notify_config: PathBuf = "notifyConfig",
    /// Notification template overrides.
    notify_templates: PathBuf = "notifyTemplates",
    /// The URL people reach this service at.
    public_url: HttpUrl = "publicUrl",
    /// Grafana for annotations.
    grafana_url: HttpUrl = "grafanaUrl",
    /// Grafana service-account token.
    grafana_token_file: PathBuf = "grafanaTokenFile",
    /// Dashboard the annotations go to.
    grafana_dashboard_uid: String = "grafanaDashboardUid",
    /// OTLP/HTTP endpoint for traces.
    otlp_endpoint: HttpUrl = "otlpEndpoint",
    /// Cluster mode.
    kubernetes: bool = "kubernetes",
    /// Label selector of the agent pods.
    agent_selector: String = "agentSelector",
    /// Namespace of the agent pods.
    agent_namespace: String = "agentNamespace",
    /// Port of the agents.
    agent_port: u16 = "agentPort",
    /// Kubernetes API requests a second.
    kube_qps: f64 = "kubeQps",
    /// Kubernetes API burst.
    kube_burst: u32 = "kubeBurst",
    /// Image podFailure swaps in.
    pause_image: String = "pauseImage",
    /// Namespaces no run may touch.
    protect_namespaces: Vec<String> = "protectNamespaces",
    /// Name of the leader Lease.
    leader_lease: String = "leaderLease",
    /// GitLab CI ID tokens: issuer, audience, trust policies.
    id_token_config: PathBuf = "idTokenConfig",
    /// Serve HTTPS with this certificate chain (issue 27).
    tls_cert: PathBuf = "tlsCert",
    /// The private key of `tlsCert`.
    tls_key: PathBuf = "tlsKey",
    /// CA the agents' certificates must chain to: HTTPS to agents.
    agent_ca: PathBuf = "agentCa",
    /// Client certificate shown to agents (mutual TLS).
    agent_client_cert: PathBuf = "agentClientCert",
    /// The private key of `agentClientCert`.
    agent_client_key: PathBuf = "agentClientKey",
    /// Name the agents' certificates are checked for.
    agent_server_name: String = "agentServerName",
    /// Where runs are stored: `sqlite` (the state dir's file) or a `postgres://` URL.
    store: String = "store",
    /// The PostgreSQL password, read from this file (never inline in the URL).
    store_password_file: PathBuf = "storePasswordFile",
    /// How long a replica's lease on the runs it drives lasts without a heartbeat.
    store_lease_ttl: PositiveDuration = "storeLeaseTtl",
    /// People's sign-in through an OIDC provider: issuer, client, role map.
    sso_config: PathBuf = "ssoConfig",
}

/// Cluster mode settings (`kubernetes: true`).
#[derive(Debug, Clone, PartialEq)]
pub struct KubeSettings {
    /// Cluster mode on.
    pub enabled: bool,
    /// Label selector of the agent DaemonSet's pods.
    pub agent_selector: String,
    /// Namespace of the agent pods (`None`: $POD_NAMESPACE, else `faultline`).
    pub agent_namespace: Option<String>,
    /// Port the agents listen on.
    pub agent_port: u16,
    /// Client-side rate limit, requests a second.
    pub qps: f64,
    /// Client-side burst.
    pub burst: u32,
    /// Image podFailure swaps in.
    pub pause_image: String,
    /// Protected namespaces (empty: kube-system and $POD_NAMESPACE).
    pub protect_namespaces: Vec<String>,
    /// Leader Lease name.
    pub leader_lease: String,
}

/// Every serve setting, defaults filled in and checked together.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// State directory.
    pub state_dir: PathBuf,
    /// Bearer tokens file.
    pub tokens_file: Option<PathBuf>,
    /// No authentication.
    pub insecure_no_auth: bool,
    /// Fault lease.
    pub lease: std::time::Duration,
    /// How long an `untilAborted` fault holds when its experiment sets no
    /// `guard.maxDuration`.
    pub max_duration: std::time::Duration,
    /// Prometheus base URL.
    pub prometheus_url: Option<String>,
    /// Alertmanager base URL.
    pub alertmanager_url: Option<String>,
    /// Node agent URL.
    pub agent_url: Option<String>,
    /// Agents' token file.
    pub agent_token_file: Option<PathBuf>,
    /// Catalog directory.
    pub experiments_dir: Option<PathBuf>,
    /// GitLab config file.
    pub gitlab_config: Option<PathBuf>,
    /// Notification config file.
    pub notify_config: Option<PathBuf>,
    /// Notification templates directory.
    pub notify_templates: Option<PathBuf>,
    /// Public URL (default http://LISTEN).
    pub public_url: Option<String>,
    /// Grafana base URL.
    pub grafana_url: Option<String>,
    /// Grafana token file.
    pub grafana_token_file: Option<PathBuf>,
    /// Grafana dashboard UID.
    pub grafana_dashboard_uid: Option<String>,
    /// OTLP endpoint (else OTEL_EXPORTER_OTLP_ENDPOINT).
    pub otlp_endpoint: Option<String>,
    /// Cluster mode.
    pub kube: KubeSettings,
    /// GitLab CI ID-token config file (issuer, audience, trust policies).
    pub id_token_config: Option<PathBuf>,
    /// HTTPS for the API (`tlsCert`, `tlsKey`); `None`: plain HTTP.
    pub tls: Option<ServerTls>,
    /// HTTPS to agents (`agentCa`, `agentClientCert`/`agentClientKey`,
    /// `agentServerName`); `None`: plain HTTP.
    pub agent_tls: Option<ClientTls>,
    /// Where runs are stored.
    pub store: StoreSettings,
    /// SSO config file (OIDC provider, client, role map); `None`: no sign-in for people.
    pub sso_config: Option<PathBuf>,
}

/// Where runs are stored (`store`, `storePasswordFile`, `storeLeaseTtl`).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreSettings {
    /// The embedded SQLite file in the state directory (one replica).
    Sqlite,
    /// PostgreSQL, shared by every replica.
    Postgres {
        /// The URL, without a password.
        url: String,
        /// The file holding the password, if the server wants one.
        password_file: Option<PathBuf>,
        /// How long a replica's lease on a run lasts without a heartbeat.
        lease_ttl: std::time::Duration,
    },
}

/// Default `storeLeaseTtl`: long enough for a heartbeat every third of it to survive a
/// slow database round trip, short enough that a lost replica's runs are adopted soon.
pub const DEFAULT_STORE_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads `store` and its companions; the reason naming the key when they are wrong.
fn store_settings(layer: &ServeLayer) -> Result<StoreSettings, String> {
    let lease_ttl = layer
        .store_lease_ttl
        .map_or(DEFAULT_STORE_LEASE_TTL, |d| d.0.std());
    let url = match layer.store.as_deref().map(str::trim) {
        None | Some("" | "sqlite") => {
            if layer.store_password_file.is_some() {
                return Err(format!(
                    "{} needs {} to be a postgres:// URL",
                    named("storePasswordFile"),
                    named("store")
                ));
            }
            return Ok(StoreSettings::Sqlite);
        }
        Some(url) => url,
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "{}: expected `sqlite` or a postgres://USER@HOST:PORT/DB URL, not {url:?}",
            named("store")
        ));
    }
    // user:password@ — a password in the URL would sit in the config file, the
    // environment and `ps`; it belongs in a file only the service reads.
    let authority = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = authority.split(['/', '?']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && userinfo.contains(':')
    {
        return Err(format!(
            "{}: the URL holds a password; remove it and put it in {}",
            named("store"),
            named("storePasswordFile")
        ));
    }
    if lease_ttl < std::time::Duration::from_secs(1) {
        return Err(format!(
            "{}: must be at least 1s (heartbeats go every third of it)",
            named("storeLeaseTtl")
        ));
    }
    Ok(StoreSettings::Postgres {
        url: url.to_string(),
        password_file: layer.store_password_file.clone(),
        lease_ttl,
    })
}

/// `agentServerName` in cluster mode when not set: agents are dialled by pod IP, so their
/// certificates name this instead (the Helm chart issues them so).
pub const DEFAULT_AGENT_SERVER_NAME: &str = "faultline-agent";

/// Default `listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default `stateDir`.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/faultline";

/// `key` (env `FAULTLINE_KEY`), for messages about keys that depend on each other (the
/// value may have come from any layer).
pub(super) fn named(key: &str) -> String {
    format!("`{key}` (env {})", env_var(key))
}

impl ServeLayer {
    /// Fills the defaults and checks the keys that go together; every problem at once.
    pub fn resolve(self) -> Result<ServeConfig, Vec<String>> {
        let mut errors = Vec::new();
        let url = |u: Option<HttpUrl>| u.map(|u| u.0.trim_end_matches('/').to_string());
        let insecure = self.insecure_no_auth.unwrap_or(false);
        let kubernetes = self.kubernetes.unwrap_or(false);
        if insecure && self.tokens_file.is_some() {
            errors.push(format!(
                "{} and {} are both set: give one",
                named("tokensFile"),
                named("insecureNoAuth")
            ));
        }
        if self.agent_token_file.is_some() && self.agent_url.is_none() && !kubernetes {
            errors.push(format!(
                "{} needs {} or {}",
                named("agentTokenFile"),
                named("agentUrl"),
                named("kubernetes")
            ));
        }
        if self.grafana_url.is_some() && self.grafana_token_file.is_none() {
            errors.push(format!(
                "{} needs {} (a service-account token)",
                named("grafanaUrl"),
                named("grafanaTokenFile")
            ));
        }
        if self.notify_templates.is_some() && self.notify_config.is_none() {
            errors.push(format!(
                "{} needs {}",
                named("notifyTemplates"),
                named("notifyConfig")
            ));
        }
        errors.extend(self.tls_errors(kubernetes));
        let qps = self.kube_qps.unwrap_or(50.0);
        if !(qps.is_finite() && qps > 0.0) {
            errors.push(format!(
                "{}: must be a positive number of requests a second, not {qps}",
                named("kubeQps")
            ));
        }
        let burst = self.kube_burst.unwrap_or(100);
        if burst == 0 {
            errors.push(format!("{}: must be at least 1", named("kubeBurst")));
        }
        let store = store_settings(&self).unwrap_or_else(|e| {
            errors.push(e);
            StoreSettings::Sqlite
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(ServerTls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: None,
            }),
            _ => None,
        };
        let agent_tls = self.agent_ca.clone().map(|ca| ClientTls {
            ca,
            identity: self
                .agent_client_cert
                .clone()
                .zip(self.agent_client_key.clone()),
            server_name: self
                .agent_server_name
                .clone()
                .or_else(|| kubernetes.then(|| DEFAULT_AGENT_SERVER_NAME.to_string())),
        });
        Ok(ServeConfig {
            tls,
            agent_tls,
            store,
            listen: self
                .listen
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid default")),
            state_dir: self
                .state_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            tokens_file: self.tokens_file,
            insecure_no_auth: insecure,
            // Shorter leases would expire between two renewals on a busy machine.
            lease: self
                .lease
                .map_or(std::time::Duration::from_secs(30), |d| d.std())
                .max(std::time::Duration::from_secs(3)),
            max_duration: self
                .max_duration
                .map_or(faultline_spec::Guard::DEFAULT_MAX_DURATION, |d| d.0)
                .std(),
            prometheus_url: url(self.prometheus_url),
            alertmanager_url: url(self.alertmanager_url),
            agent_url: url(self.agent_url),
            agent_token_file: self.agent_token_file,
            experiments_dir: self.experiments_dir,
            gitlab_config: self.gitlab_config,
            notify_config: self.notify_config,
            notify_templates: self.notify_templates,
            public_url: url(self.public_url),
            grafana_url: url(self.grafana_url),
            grafana_token_file: self.grafana_token_file,
            grafana_dashboard_uid: self.grafana_dashboard_uid,
            otlp_endpoint: url(self.otlp_endpoint),
            kube: KubeSettings {
                enabled: kubernetes,
                agent_selector: self
                    .agent_selector
                    .unwrap_or_else(|| "app.kubernetes.io/name=faultline-agent".into()),
                agent_namespace: self.agent_namespace,
                agent_port: self.agent_port.unwrap_or(7150),
                qps,
                burst,
                pause_image: self
                    .pause_image
                    .unwrap_or_else(|| "registry.k8s.io/pause:3.10".into()),
                protect_namespaces: self.protect_namespaces.unwrap_or_default(),
                leader_lease: self
                    .leader_lease
                    .unwrap_or_else(|| "faultline-leader".into()),
            },
            id_token_config: self.id_token_config,
            sso_config: self.sso_config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(pairs: &[(&str, &str)]) -> ServeLayer {
        let mut l = ServeLayer::default();
        for (k, v) in pairs {
            assert!(
                l.set(k, Raw::Text(v.to_string()), Path::new("/base"))
                    .unwrap(),
                "{k}"
            );
        }
        l
    }

    #[test]
    fn env_names_follow_the_keys() {
        assert_eq!(env_var("listen"), "FAULTLINE_LISTEN");
        assert_eq!(env_var("agentTokenFile"), "FAULTLINE_AGENT_TOKEN_FILE");
        assert_eq!(env_var("kubeQps"), "FAULTLINE_KUBE_QPS");
        let mut seen: Vec<String> = KEYS.iter().map(|k| env_var(k)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            KEYS.len(),
            "two keys share an environment variable"
        );
    }

    #[test]
    fn defaults_are_the_chart_s_and_the_issue_s() {
        let c = ServeLayer::default().resolve().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/faultline"));
        assert_eq!(c.lease, std::time::Duration::from_secs(30));
        assert_eq!(c.max_duration, std::time::Duration::from_secs(3600));
        let k = &c.kube;
        assert!(!k.enabled);
        assert_eq!(k.agent_selector, "app.kubernetes.io/name=faultline-agent");
        assert_eq!((k.agent_port, k.qps, k.burst), (7150, 50.0, 100));
        assert_eq!(k.pause_image, "registry.k8s.io/pause:3.10");
        assert_eq!(k.leader_lease, "faultline-leader");
        assert!(k.protect_namespaces.is_empty());
    }

    #[test]
    fn max_duration_is_positive() {
        let mut l = ServeLayer::default();
        let zero = l.set("maxDuration", Raw::Text("0s".into()), Path::new("/"));
        assert_eq!(zero, Err(ValueError::ZeroDuration("0s".into())));
        assert_eq!(
            ValueError::ZeroDuration("0s".into()).to_string(),
            "`0s`: must be longer than 0s"
        );
        let bad = l.set("maxDuration", Raw::Text("soon".into()), Path::new("/"));
        assert!(matches!(bad, Err(ValueError::Duration { .. })), "{bad:?}");
        let c = layer(&[("maxDuration", "15m")]).resolve().unwrap();
        assert_eq!(c.max_duration, std::time::Duration::from_secs(900));
    }

    #[test]
    fn a_higher_layer_wins_key_by_key() {
        let flags = layer(&[("listen", "127.0.0.1:1")]);
        let env = layer(&[("listen", "127.0.0.1:2"), ("kubeQps", "7")]);
        let file = layer(&[
            ("listen", "127.0.0.1:3"),
            ("kubeQps", "8"),
            ("stateDir", "state"),
        ]);
        let c = flags.over(env.over(file)).resolve().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:1");
        assert_eq!(c.kube.qps, 7.0);
        assert_eq!(c.state_dir, PathBuf::from("/base/state"));
    }

    #[test]
    fn keys_that_go_together_are_checked_together() {
        let e = layer(&[
            ("tokensFile", "t"),
            ("insecureNoAuth", "true"),
            ("agentTokenFile", "a"),
            ("grafanaUrl", "http://g"),
            ("notifyTemplates", "d"),
            ("kubeQps", "0"),
            ("kubeBurst", "0"),
        ])
        .resolve()
        .unwrap_err();
        assert_eq!(e.len(), 6, "{e:#?}");
        assert!(e[1].contains("FAULTLINE_AGENT_TOKEN_FILE"), "{}", e[1]);
        assert!(
            layer(&[("agentTokenFile", "a"), ("kubernetes", "yes")])
                .resolve()
                .is_ok()
        );
    }

    #[test]
    fn the_store_is_sqlite_by_default_or_a_postgres_url_without_its_password() {
        assert_eq!(layer(&[]).resolve().unwrap().store, StoreSettings::Sqlite);
        let c = layer(&[
            ("store", "postgres://fl@db.example.org:5432/faultline"),
            ("storePasswordFile", "/run/secrets/db"),
            ("storeLeaseTtl", "8s"),
        ])
        .resolve()
        .unwrap();
        assert_eq!(
            c.store,
            StoreSettings::Postgres {
                url: "postgres://fl@db.example.org:5432/faultline".into(),
                password_file: Some(PathBuf::from("/run/secrets/db")),
                lease_ttl: std::time::Duration::from_secs(8),
            }
        );
        for (pairs, names) in [
            (
                vec![("store", "postgres://fl:hunter2@db/faultline")],
                ["`store` (env FAULTLINE_STORE)", "storePasswordFile"],
            ),
            (
                vec![("store", "mysql://db/faultline")],
                ["`store` (env FAULTLINE_STORE)", "postgres://"],
            ),
            (
                vec![("storePasswordFile", "/run/secrets/db")],
                ["`storePasswordFile`", "postgres://"],
            ),
        ] {
            let e = layer(&pairs).resolve().unwrap_err();
            assert_eq!(e.len(), 1, "{e:#?}");
            for n in names {
                assert!(e[0].contains(n), "{pairs:?}: {} lacks {n}", e[0]);
            }
            assert!(!e[0].contains("hunter2"), "the password echoed: {}", e[0]);
        }
    }
}
