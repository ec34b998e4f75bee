//! HTTPS through the proxy, for a fault that carries `tls` (the server's certificate and
//! key): the proxy ends the client's TLS with that certificate, so the rules see the
//! decrypted requests, and opens its own TLS connection to the original destination.
//!
//! The upstream connection is made first, offering the client's own SNI and ALPN list,
//! and the client is then answered with the protocol the server chose: a server that
//! speaks only HTTP/1.1 stays HTTP/1.1 to its clients, one that speaks h2 stays h2.
//!
//! Which upstream is trusted: with `caFile`, a certificate chaining to that CA for the
//! name the client asked for (SNI, else the destination address), as the client itself
//! would check. Without it, exactly the certificate of `certFile` (pinned, with the
//! handshake's signature checked against it): the user gave us the server's own
//! certificate, so the proxy accepts that server and nothing else; it never turns
//! verification off.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::Acceptor;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::{LazyConfigAcceptor, TlsConnector};

use super::exchange::{Exchange, Shared};
use super::sockets::reset_on_close;
use crate::tls::TlsError;
use crate::tls::files::{certified_key, roots};
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
            None => Arc::new(Pinned {
                leaf: key.cert[0].clone(),
                provider: provider.clone(),
            }),
        };
        Ok(Terminate {
            key,
            upstream,
            provider,
        })
    }

    fn server_config(&self, alpn: Option<Vec<u8>>) -> Result<ServerConfig, rustls::Error> {
        let mut cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(self.key.clone())));
        cfg.alpn_protocols = alpn.into_iter().collect();
        Ok(cfg)
    }

    fn client_config(&self, alpn: Vec<Vec<u8>>) -> Result<ClientConfig, rustls::Error> {
        let mut cfg = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.upstream.clone())
            .with_no_client_auth();
        cfg.alpn_protocols = alpn;
        Ok(cfg)
    }
}

/// Serves one client connection that opened with a TLS handshake: upstream first, then
/// the client's handshake with the protocol the server chose, then HTTP as for plain
/// connections. A destination that refuses, or fails the check, gets the client a reset,
/// as a refused connection would.
pub async fn serve(
    conn: TcpStream,
    handle: std::net::TcpStream,
    dest: SocketAddr,
    shared: Arc<Shared>,
    tls: Arc<Terminate>,
) {
    let Ok(start) = LazyConfigAcceptor::new(Acceptor::default(), conn).await else {
        return;
    };
    let (name, offered) = {
        let hello = start.client_hello();
        let name = hello
            .server_name()
            .and_then(|n| ServerName::try_from(n.to_string()).ok())
            .unwrap_or_else(|| ServerName::IpAddress(dest.ip().into()));
        let offered: Vec<Vec<u8>> = hello
            .alpn()
            .map(|i| i.map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        (name, offered)
    };
    let Some((upstream, first)) = connect(&shared, &tls, dest, name, offered).await else {
        let _ = reset_on_close(&handle);
        return;
    };
    let chosen = first.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let Ok(cfg) = tls.server_config(chosen) else {
        return;
    };
    let Ok(client) = start.into_stream(Arc::new(cfg)).await else {
        return;
    };
    let Some(exchange) = Exchange::over_tls(shared, dest, upstream, first).await else {
        let _ = reset_on_close(&handle);
        return;
    };
    super::serve::serve_http(client, handle, Arc::new(exchange)).await;
}

/// The first upstream TLS connection, offering the client's ALPN list.
async fn connect(
    shared: &Shared,
    tls: &Terminate,
    dest: SocketAddr,
    name: ServerName<'static>,
    offered: Vec<Vec<u8>>,
) -> Option<(UpstreamTls, tokio_rustls::client::TlsStream<TcpStream>)> {
    let tcp = shared.dialer.connect(dest).await.ok()?;
    let first = TlsConnector::from(Arc::new(tls.client_config(offered).ok()?))
        .connect(name.clone(), tcp)
        .await
        .map_err(|e| tracing::debug!(%dest, error = %e, "the HTTPS destination failed the proxy's check"))
        .ok()?;
    // Later connections of this exchange ask for the protocol the server chose.
    let chosen = first.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let again = tls.client_config(chosen.into_iter().collect()).ok()?;
    let upstream = UpstreamTls {
        connector: TlsConnector::from(Arc::new(again)),
        name,
    };
    Some((upstream, first))
}

/// Trusts exactly one certificate: the server's own, which the user gave as `certFile`.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
