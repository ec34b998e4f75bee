//! [`ServerTls`]: the TLS settings of a listener (serve's API, the agent's API).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;

use super::error::TlsError;
use super::files::roots;
use super::reload::ReloadingCert;

/// Where a TLS listener's certificate, key and (for mutual TLS) client CA are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// The certificate chain (PEM, leaf first); re-read when it changes.
    pub cert: PathBuf,
    /// The certificate's private key (PEM); re-read when it changes.
    pub key: PathBuf,
    /// When set, every client must present a certificate signed by a CA of this file
    /// (read once, at start-up).
    pub client_ca: Option<PathBuf>,
}

impl ServerTls {
    /// The rustls settings, reading every file now: a start-up error names the file.
    /// TLS 1.2 and 1.3 with ring's default suites; actix adds the ALPN protocols.
    pub fn config(&self) -> Result<ServerConfig, TlsError> {
        let resolver = ReloadingCert::load(&self.cert, &self.key)?;
        let provider = faultline_exporter::tls_provider::provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Settings)?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider)
                        .build()
                        .map_err(|source| TlsError::ClientVerifier {
                            path: ca.clone(),
                            source,
                        })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        Ok(builder.with_cert_resolver(resolver))
    }
}
