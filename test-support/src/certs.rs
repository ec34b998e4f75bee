//! Certificates for the TLS tests, made with rcgen (ring): a CA, server and client
//! certificates it signs, an expired one, and an unrelated CA to be "the wrong one".
//! Written as PEM files, the way the service and the agent read them.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};

/// A certificate authority: its certificate and the key it signs with.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl Authority {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    /// The CA certificate (PEM): what a `--cacert` / `--agent-ca` file holds.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate to `dir/NAME.crt`.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{name}.crt"));
        std::fs::write(&path, self.cert_pem()).unwrap();
        path
    }

    /// A server certificate for `host` (a DNS name or an IP address), valid now.
    pub fn issue(&self, host: &str) -> Issued {
        self.sign(host, ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A server certificate for `host` that expired in 2021.
    pub fn issue_expired(&self, host: &str) -> Issued {
        self.sign(host, ExtendedKeyUsagePurpose::ServerAuth, true)
    }

    /// A client certificate named `name` (mutual TLS).
    pub fn issue_client(&self, name: &str) -> Issued {
        self.sign(name, ExtendedKeyUsagePurpose::ClientAuth, false)
    }

    fn sign(&self, name: &str, usage: ExtendedKeyUsagePurpose, expired: bool) -> Issued {
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Issued {
    /// Writes `dir/NAME.crt` and `dir/NAME.key`; returns (cert, key).
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}
