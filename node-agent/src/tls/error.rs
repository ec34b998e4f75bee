//! Why a TLS file or setting cannot be used.

use std::path::PathBuf;

/// A TLS file that cannot be used; each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read (missing, no permission, a directory).
    #[error("cannot read the {what} file {path}")]
    Read {
        /// What the file should hold: "certificate", "key", "CA".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The file is not PEM, or a PEM section in it is broken.
    #[error("the {what} file {path} is not valid PEM")]
    Pem {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The PEM reader's reason.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The file is PEM but holds none of what it should.
    #[error("the {what} file {path} holds no {expected}")]
    Missing {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The PEM section looked for ("CERTIFICATE", "PRIVATE KEY").
        expected: &'static str,
    },
    /// The key is of a kind or shape ring cannot sign with.
    #[error("the key file {path} holds a key that cannot be used")]
    Key {
        /// The file.
        path: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::Error,
    },
    /// The key does not belong to the certificate (e.g. only one of the two was renewed).
    #[error("the key file {key} does not match the certificate file {cert}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::Error,
    },
    /// A certificate of a CA file cannot be a trust anchor.
    #[error("the CA file {path} holds a certificate that cannot be a trust anchor")]
    Anchor {
        /// The file.
        path: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::Error,
    },
    /// The client-certificate verifier cannot be built from the CA file.
    #[error("cannot verify client certificates with the CA file {path}")]
    ClientVerifier {
        /// The CA file.
        path: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    /// The server-certificate verifier cannot be built from the CA file.
    #[error("cannot verify server certificates with the CA file {path}")]
    ServerVerifier {
        /// The CA file.
        path: PathBuf,
        /// rustls's reason.
        #[source]
        source: rustls::client::VerifierBuilderError,
    },
    /// The name to check servers' certificates for is not a DNS name or IP address.
    #[error("`{name}` is not a DNS name or an IP address to check certificates for")]
    ServerName {
        /// The name given.
        name: String,
    },
    /// rustls refused the settings (no usable protocol version for the provider).
    #[error("cannot build the TLS settings")]
    Settings(#[source] rustls::Error),
}
