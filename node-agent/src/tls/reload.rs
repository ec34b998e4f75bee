//! [`ReloadingCert`]: the server certificate, re-read when its files change.
//!
//! cert-manager, a Kubernetes Secret volume (an atomic symlink swap) or an operator's `cp`
//! replace the files under a running server. Each new handshake compares the files'
//! identity (inode, size, modification time) with the pair last loaded and loads them
//! again when either changed: two `stat` calls per handshake, no watcher thread, and the
//! next connection after the change already sees the new certificate. A pair that does
//! not load (a half-copied file, a key that does not match yet) is logged once and the
//! previous certificate stays in use until the files change again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::error::TlsError;
use super::files::certified_key;

/// A certificate resolver that follows its cert and key files.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    state: RwLock<State>,
}

#[derive(Debug)]
struct State {
    current: Arc<CertifiedKey>,
    /// The files' identity when last looked at, loaded or not.
    seen: Option<Stamp>,
}

/// The identity of the cert and key files: a change to either means "load again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    cert: FileStamp,
    key: FileStamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// `None` while the file is missing (between the two steps of a replacement).
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

impl ReloadingCert {
    /// Loads `cert` and `key` now: an error here is a start-up error naming the file.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<ReloadingCert>, TlsError> {
        let seen = Self::stamp(cert, key);
        let current = certified_key(cert, key)?;
        Ok(Arc::new(ReloadingCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            state: RwLock::new(State { current, seen }),
        }))
    }

    fn stamp(cert: &Path, key: &Path) -> Option<Stamp> {
        Some(Stamp {
            cert: FileStamp::of(cert)?,
            key: FileStamp::of(key)?,
        })
    }

    /// The certificate to serve now, loading the files again if they changed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let now = Self::stamp(&self.cert, &self.key);
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state.seen == now {
                return state.current.clone();
            }
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        // Another handshake may have reloaded while this one waited for the lock.
        if state.seen != now {
            state.seen = now;
            match certified_key(&self.cert, &self.key) {
                Ok(fresh) => {
                    state.current = fresh;
                    tracing::info!(cert = %self.cert.display(), key = %self.key.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "TLS certificate files changed but do not load; still serving the previous certificate");
                }
            }
        }
        state.current.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_test_support::certs::Authority;

    fn leaf(ca: &Authority, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        ca.issue("localhost").write(dir, name)
    }

    #[test]
    fn changed_files_are_served_and_a_broken_pair_keeps_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new("test CA");
        let (cert, key) = leaf(&ca, dir.path(), "server");
        let resolver = ReloadingCert::load(&cert, &key).unwrap();
        let first = resolver.current().cert[0].clone();
        assert_eq!(
            resolver.current().cert[0],
            first,
            "unchanged files: same cert"
        );

        // Only the certificate is replaced: its key no longer matches; keep serving.
        let (cert2, key2) = leaf(&ca, dir.path(), "next");
        std::fs::copy(&cert2, &cert).unwrap();
        assert_eq!(resolver.current().cert[0], first);

        // Then the key: the pair loads, and is served.
        std::fs::rename(&key2, &key).unwrap();
        let second = resolver.current().cert[0].clone();
        assert_ne!(second, first);
        let on_disk = crate::tls::files::certificates("certificate", &cert).unwrap();
        assert_eq!(second, on_disk[0]);
    }

    #[test]
    fn start_up_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new("test CA");
        let (cert, key) = leaf(&ca, dir.path(), "server");
        let (_, other_key) = leaf(&ca, dir.path(), "other");
        let missing = dir.path().join("missing.pem");
        let text = |e: TlsError| format!("{:#}", anyhow::Error::from(e));

        let e = text(ReloadingCert::load(&missing, &key).unwrap_err());
        assert!(
            e.contains("cannot read the certificate file") && e.contains("missing.pem"),
            "{e}"
        );
        let e = text(ReloadingCert::load(&cert, &other_key).unwrap_err());
        assert!(
            e.contains("does not match the certificate file") && e.contains("other.key"),
            "{e}"
        );
        let e = text(ReloadingCert::load(&key, &key).unwrap_err());
        assert!(e.contains("server.key holds no CERTIFICATE"), "{e}");
        let e = text(ReloadingCert::load(&cert, &cert).unwrap_err());
        assert!(e.contains("server.crt holds no PRIVATE KEY"), "{e}");
    }
}
