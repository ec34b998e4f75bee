//! TLS to PostgreSQL, asked for as libpq asks for it: `sslmode`, `sslrootcert`, `sslcert`
//! and `sslkey` in the store URL's query, so a URL that works with `psql` works here.
//!
//! tokio-postgres reads `sslmode` only up to `require` and refuses the other three keys,
//! so [`PgTls::split`] takes all four out of the URL and leaves tokio-postgres the rest.
//! The handshake is rustls with the build's one provider (ring), through
//! `tokio-postgres-rustls`; what each mode checks is libpq's (docs/tls.md):
//!
//! | sslmode       | encrypted              | the server's certificate                    |
//! |---------------|------------------------|---------------------------------------------|
//! | `disable`     | no                     | —                                           |
//! | `prefer` (default) | if the server offers it | checked against `sslrootcert` if given |
//! | `require`     | yes, or no connection  | checked against `sslrootcert` if given      |
//! | `verify-ca`   | yes                    | signed by `sslrootcert` (required)          |
//! | `verify-full` | yes                    | signed by `sslrootcert`, and names the host |
//!
//! "Checked against `sslrootcert`" without `verify-full` means the chain, not the name,
//! as libpq does. PostgreSQL never uses TLS on a Unix socket: over one, `prefer` is plain
//! and the modes that demand TLS are refused before connecting, naming the reason.

use std::path::PathBuf;
use std::sync::Arc;

use faultline_agent::tls::TlsError;
use faultline_agent::tls::files::{certificates, certified_key, private_key, roots};
use faultline_agent::tls::verify::{ServerCheck, Verifier};
use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use tokio_postgres::config::SslMode as WireMode;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain (libpq's default).
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS, the server's certificate signed by `sslrootcert`.
    VerifyCa,
    /// TLS, the certificate signed by `sslrootcert` and naming the host dialled.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The name in the URL.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn demands_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

/// What the store URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTls {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`: the CA file (PEM) the server's certificate must chain to.
    pub root: Option<PathBuf>,
    /// `sslcert` and `sslkey`: a client certificate and its key (PEM), for servers that
    /// authenticate clients by certificate (`hostssl ... cert` in pg_hba.conf).
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// A TLS parameter of the store URL that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PgTlsError {
    /// `sslmode` is not one of libpq's.
    #[error(
        "store URL: sslmode={0:?} is not one of disable, prefer, require, verify-ca, verify-full"
    )]
    Mode(String),
    /// A mode that checks the certificate, without the CA to check it against.
    #[error(
        "store URL: sslmode={0} needs sslrootcert=FILE, the CA (PEM) that signed the server's certificate"
    )]
    NoRoot(&'static str),
    /// Only one of `sslcert` and `sslkey`.
    #[error("store URL: {0} is given without {1}; a client certificate needs both")]
    HalfIdentity(&'static str, &'static str),
    /// A key given twice, which libpq would resolve silently one way or the other.
    #[error("store URL: {0} is given twice")]
    Twice(String),
    /// TLS demanded over a Unix socket.
    #[error(
        "store URL: sslmode={0} needs a TCP host (HOST:PORT): PostgreSQL does not use TLS over a Unix socket"
    )]
    UnixSocket(&'static str),
    /// A file named in the URL cannot be used.
    #[error("store URL: {0}")]
    File(#[source] TlsError),
    /// rustls refused the settings.
    #[error("store URL: TLS settings: {0}")]
    Settings(#[source] rustls::Error),
}

impl PgTls {
    /// Takes libpq's TLS keys out of `url`: the URL tokio-postgres is given, and what
    /// they ask for. No `sslmode` is `prefer`, as in libpq.
    pub fn split(url: &str) -> Result<(String, PgTls), PgTlsError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let (mut mode, mut root, mut cert, mut key) = (None, None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "sslmode" => &mut mode,
                "sslrootcert" => &mut root,
                "sslcert" => &mut cert,
                "sslkey" => &mut key,
                _ => {
                    kept.push(pair);
                    continue;
                }
            };
            if slot.replace(decode(value)).is_some() {
                return Err(PgTlsError::Twice(name.to_string()));
            }
        }
        let mode = match mode {
            None => SslMode::Prefer,
            Some(m) => SslMode::parse(&m).ok_or(PgTlsError::Mode(m))?,
        };
        let identity = match (cert, key) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (Some(_), None) => return Err(PgTlsError::HalfIdentity("sslcert", "sslkey")),
            (None, Some(_)) => return Err(PgTlsError::HalfIdentity("sslkey", "sslcert")),
            (None, None) => None,
        };
        let root = root.map(PathBuf::from);
        if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root.is_none() {
            return Err(PgTlsError::NoRoot(mode.name()));
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((
            rest,
            PgTls {
                mode,
                root,
                identity,
            },
        ))
    }

    /// The `sslmode` tokio-postgres negotiates with: whether to ask for TLS, and whether
    /// a server without it is refused. Which certificate is good is the connector's.
    /// `over_unix_socket`: the host is a socket directory, where PostgreSQL has no TLS.
    pub fn wire_mode(&self, over_unix_socket: bool) -> Result<WireMode, PgTlsError> {
        Ok(match self.mode {
            SslMode::Disable => WireMode::Disable,
            _ if over_unix_socket && self.mode.demands_tls() => {
                return Err(PgTlsError::UnixSocket(self.mode.name()));
            }
            SslMode::Prefer if over_unix_socket => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        })
    }

    /// The connector for the pool and the LISTEN connection; every file is read now, so
    /// a missing or wrong one stops start-up naming it.
    pub fn connector(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, PgTlsError> {
        let provider = faultline_exporter::tls_provider::provider();
        // Below verify-full libpq checks a given root's chain, not the name; without a
        // root it checks nothing (encrypted, not authenticated: docs/tls.md says so).
        let verifier: Arc<dyn ServerCertVerifier> = match (&self.root, self.mode) {
            (Some(root), SslMode::VerifyFull) => webpki(root, &provider)?,
            (Some(root), _) => Verifier::new(
                ServerCheck::ChainOnly(webpki(root, &provider)?),
                provider.clone(),
            ),
            (None, _) => Verifier::new(ServerCheck::Unchecked, provider.clone()),
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(PgTlsError::Settings)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.identity {
            Some((cert, key)) => {
                certified_key(cert, key).map_err(PgTlsError::File)?;
                builder
                    .with_client_auth_cert(
                        certificates("client certificate", cert).map_err(PgTlsError::File)?,
                        private_key(key).map_err(PgTlsError::File)?,
                    )
                    .map_err(PgTlsError::Settings)?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

/// A URL query value, percent-decoded as libpq does (a path may be written
/// `%2Fetc%2F...`; `+` stays a plus).
fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

fn webpki(
    root: &std::path::Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, PgTlsError> {
    WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots(root).map_err(PgTlsError::File)?),
        provider.clone(),
    )
    .build()
    .map_err(|source| {
        PgTlsError::File(TlsError::ServerVerifier {
            path: root.to_path_buf(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_keys_leave_the_url_and_the_rest_stays() {
        let (rest, tls) = PgTls::split(
            "postgres://fl@db:5432/faultline?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://fl@db:5432/faultline?application_name=x&connect_timeout=3"
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(tls.identity, None);
    }

    #[test]
    fn no_sslmode_is_prefer_and_a_url_without_query_is_left_whole() {
        let (rest, tls) = PgTls::split("postgres://fl@db/faultline").unwrap();
        assert_eq!(rest, "postgres://fl@db/faultline");
        assert_eq!(tls.mode, SslMode::Prefer);
    }

    #[test]
    fn bad_tls_keys_are_refused_naming_them() {
        let err = |url: &str| PgTls::split(url).unwrap_err().to_string();
        assert!(err("postgres://db/f?sslmode=verify").contains("sslmode=\"verify\""));
        assert!(err("postgres://db/f?sslmode=verify-full").contains("needs sslrootcert"));
        assert!(err("postgres://db/f?sslmode=verify-ca").contains("needs sslrootcert"));
        assert!(err("postgres://db/f?sslcert=/c.pem").contains("sslcert is given without sslkey"));
        assert!(
            err("postgres://db/f?sslmode=require&sslmode=disable")
                .contains("sslmode is given twice")
        );
    }

    #[test]
    fn a_unix_socket_is_plain_under_prefer_and_refused_where_tls_is_demanded() {
        let tls = |m: &str| {
            PgTls::split(&format!("postgres://db/f?sslmode={m}&sslrootcert=/ca"))
                .unwrap()
                .1
        };
        assert_eq!(tls("prefer").wire_mode(true).unwrap(), WireMode::Disable);
        assert_eq!(tls("prefer").wire_mode(false).unwrap(), WireMode::Prefer);
        assert_eq!(
            tls("verify-ca").wire_mode(false).unwrap(),
            WireMode::Require
        );
        for m in ["require", "verify-ca", "verify-full"] {
            let e = tls(m).wire_mode(true).unwrap_err().to_string();
            assert!(e.contains("does not use TLS over a Unix socket"), "{e}");
        }
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let (_, tls) =
            PgTls::split("postgres://db/f?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
                .unwrap();
        let e = tls.connector().err().unwrap();
        let chain = format!("{}: {}", e, std::error::Error::source(&e).unwrap());
        assert!(chain.contains("/nonexistent/ca.pem"), "{chain}");
    }
}
