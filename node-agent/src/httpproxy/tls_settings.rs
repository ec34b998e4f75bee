//! What an HTTPS fault's proxy shows clients and whom it trusts upstream, read from the
//! fault's `tls` files (the server's certificate and key, an optional CA).
//!
//! Which upstream is trusted: with `caFile`, a certificate chaining to that CA for the
//! name the client asked for (SNI, else the destination address), as the client itself
//! would check. Without it, exactly the certificate of `certFile` (pinned, with the
//! handshake's signature checked against it): the user gave us the server's own
//! certificate, so the proxy accepts that server and nothing else; it never turns
//! verification off.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, ServerConfig};
use tokio_rustls::TlsConnector;

use crate::tls::TlsError;
use crate::tls::files::{certified_key, roots};
use crate::tls::verify::{ServerCheck, Verifier};
use faultline_spec::fault::HttpTls;

/// The TLS half of a fault's proxy: what it shows clients and whom it trusts upstream.
#[derive(Debug)]
pub struct Terminate {
    key: Arc<CertifiedKey>,
    upstream: Arc<dyn ServerCertVerifier>,
    provider: Arc<CryptoProvider>,
}

/// How an exchange reaches its destination over TLS (again, when the server closed the
/// first connection).
#[derive(Clone)]
pub struct UpstreamTls {
    /// Settings with the ALPN protocol the client and server agreed on.
    pub connector: TlsConnector,
    /// The name the server's certificate is checked for.
    pub name: ServerName<'static>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Terminate {
    /// Reads the fault's files now; an error names the file.
    pub fn load(tls: &HttpTls) -> Result<Terminate, TlsError> {
        let provider = faultline_exporter::tls_provider::provider();
        let key = certified_key(tls.cert_file.as_ref(), tls.key_file.as_ref())?;
        let upstream: Arc<dyn ServerCertVerifier> = match &tls.ca_file {
            Some(ca) => WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(ca.as_ref())?),
                provider.clone(),
            )
            .build()
            .map_err(|source| TlsError::ServerVerifier {
                path: ca.into(),
                source,
            })?,
            // Exactly the server's own certificate, which the user gave as `certFile`.
            None => Verifier::new(ServerCheck::Pinned(key.cert[0].clone()), provider.clone()),
        };
        Ok(Terminate {
            key,
            upstream,
            provider,
        })
    }

    pub(super) fn server_config(
        &self,
        alpn: Option<Vec<u8>>,
    ) -> Result<ServerConfig, rustls::Error> {
        let mut cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(self.key.clone())));
        cfg.alpn_protocols = alpn.into_iter().collect();
        Ok(cfg)
    }

    pub(super) fn client_config(&self, alpn: Vec<Vec<u8>>) -> Result<ClientConfig, rustls::Error> {
        let mut cfg = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.upstream.clone())
            .with_no_client_auth();
        cfg.alpn_protocols = alpn;
        Ok(cfg)
    }
}
