//! [`ClientTls`]: how a client checks a server (a CA file, optionally a fixed name) and,
//! for mutual TLS, which certificate it shows. Built into a `rustls::ClientConfig` that
//! reqwest takes as it is.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::ServerName;

use super::error::TlsError;
use super::files::{certificates, certified_key, private_key, roots};
use super::verify::{ServerCheck, Verifier};

/// The CA that signed the servers' certificates, and an optional client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// CA certificates (PEM) the server's certificate must chain to; the system's roots
    /// are not trusted.
    pub ca: PathBuf,
    /// A client certificate and its key (PEM), shown to servers that ask for one.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// Check the server's certificate for this DNS name instead of the URL's host. Agents
    /// are reached by pod IP, which no certificate issued ahead of time can name; every
    /// agent's certificate names this one instead (Chaos Mesh's controller does the same
    /// with its daemons).
    pub server_name: Option<String>,
}

impl ClientTls {
    /// Reads every file now (an error names it) and builds the settings; pass them to
    /// `reqwest::ClientBuilder::tls_backend_preconfigured`.
    pub fn config(&self) -> Result<ClientConfig, TlsError> {
        let provider = faultline_exporter::tls_provider::provider();
        let webpki = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots(&self.ca)?),
            provider.clone(),
        )
        .build()
        .map_err(|source| TlsError::ServerVerifier {
            path: self.ca.clone(),
            source,
        })?;
        let verifier: Arc<dyn ServerCertVerifier> = match &self.server_name {
            Some(name) => Verifier::new(
                ServerCheck::ChainFor {
                    name: ServerName::try_from(name.clone())
                        .map_err(|_| TlsError::ServerName { name: name.clone() })?,
                    webpki,
                },
                provider.clone(),
            ),
            None => webpki,
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Settings)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        match &self.identity {
            Some((cert, key)) => {
                // Checks the pair first, so a mismatch names both files.
                certified_key(cert, key)?;
                builder
                    .with_client_auth_cert(certificates("certificate", cert)?, private_key(key)?)
                    .map_err(|source| TlsError::Key {
                        path: key.clone(),
                        source,
                    })
            }
            None => Ok(builder.with_no_client_auth()),
        }
    }
}
