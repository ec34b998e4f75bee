//! [`ServerCheck`]: how a TLS client of faultline judges the server's certificate when
//! the plain WebPKI check (a chain to the roots, for the name dialled) is not the rule.
//! One verifier for every such client: the service dialling agents by pod IP (a fixed
//! name), an HTTPS fault's proxy dialling the real server (one pinned certificate), and
//! the PostgreSQL store (libpq's modes: the chain without the name, or nothing).
//!
//! Whatever the rule for the certificate, the handshake's own signatures are always
//! checked with the build's provider, so the session belongs to the certificate shown.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// What makes a server's certificate good.
#[derive(Debug)]
pub enum ServerCheck {
    /// A chain to the WebPKI verifier's roots, valid now, naming `name` rather than the
    /// host dialled (agents are dialled by pod IP; their certificates name a service).
    ChainFor {
        /// The chain's check.
        webpki: Arc<WebPkiServerVerifier>,
        /// The name the certificate must carry.
        name: ServerName<'static>,
    },
    /// A chain to the roots, valid now, whatever names it carries (libpq's `verify-ca`).
    ChainOnly(Arc<WebPkiServerVerifier>),
    /// Exactly this certificate (an HTTPS fault's proxy trusts the server whose own
    /// certificate the user gave it, and nothing else).
    Pinned(CertificateDer<'static>),
    /// Any certificate: encrypted against a passive listener, not authenticated (libpq's
    /// `prefer` and `require` without a root, which the docs say in these words).
    Unchecked,
}

/// A [`ServerCertVerifier`] that applies a [`ServerCheck`].
#[derive(Debug)]
pub struct Verifier {
    check: ServerCheck,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    /// Applies `check`, verifying handshake signatures with `provider`'s algorithms.
    pub fn new(check: ServerCheck, provider: Arc<CryptoProvider>) -> Arc<Verifier> {
        Arc::new(Verifier { check, provider })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        dialled: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.check {
            ServerCheck::ChainFor { webpki, name } => {
                webpki.verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
            }
            ServerCheck::ChainOnly(webpki) => match webpki.verify_server_cert(
                end_entity,
                intermediates,
                dialled,
                ocsp_response,
                now,
            ) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            },
            ServerCheck::Pinned(leaf) if end_entity.as_ref() == leaf.as_ref() => {
                Ok(ServerCertVerified::assertion())
            }
            ServerCheck::Pinned(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            ServerCheck::Unchecked => Ok(ServerCertVerified::assertion()),
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
