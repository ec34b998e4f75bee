//! `serve`'s TLS options (issue 27): HTTPS for its own API, and HTTPS (optionally mutual
//! TLS) to the node agents. Docs: docs/tls.md.

use clap::Args;

/// TLS of `serve`.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Serve the API over HTTPS with this certificate chain (PEM, leaf first); needs
    /// --tls-key. The files are re-read when they change: new connections get the new
    /// certificate without a restart. Plain HTTP to the port is then refused.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_TLS_CERT")]
    pub tls_cert: Option<String>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_TLS_KEY")]
    pub tls_key: Option<String>,
    /// Call agents over HTTPS only, trusting only the CA certificates of this file (PEM)
    /// for their certificates. With --agent the URL must be https://; in cluster mode the
    /// pod URLs become https://.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_AGENT_CA")]
    pub agent_ca: Option<String>,
    /// Show this client certificate (PEM) to agents, for agents started with
    /// --tls-client-ca (mutual TLS); needs --agent-client-key and --agent-ca.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_AGENT_CLIENT_CERT")]
    pub agent_client_cert: Option<String>,
    /// The private key (PEM) of --agent-client-cert.
    #[arg(long, value_name = "FILE", env = "FAULTLINE_AGENT_CLIENT_KEY")]
    pub agent_client_key: Option<String>,
    /// Check the agents' certificates for this DNS name instead of the host they are
    /// dialled at (pod IPs in cluster mode); needs --agent-ca [default: the URL's host;
    /// in cluster mode `faultline-agent`].
    #[arg(long, value_name = "NAME", env = "FAULTLINE_AGENT_SERVER_NAME")]
    pub agent_server_name: Option<String>,
}

impl TlsArgs {
    /// What the flags say, as (config key, flag, value), in `KEYS` order.
    pub fn given(&self) -> [(&'static str, &'static str, Option<String>); 6] {
        [
            ("tlsCert", "--tls-cert", self.tls_cert.clone()),
            ("tlsKey", "--tls-key", self.tls_key.clone()),
            ("agentCa", "--agent-ca", self.agent_ca.clone()),
            (
                "agentClientCert",
                "--agent-client-cert",
                self.agent_client_cert.clone(),
            ),
            (
                "agentClientKey",
                "--agent-client-key",
                self.agent_client_key.clone(),
            ),
            (
                "agentServerName",
                "--agent-server-name",
                self.agent_server_name.clone(),
            ),
        ]
    }
}
