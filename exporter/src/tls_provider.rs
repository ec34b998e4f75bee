//! The one rustls crypto provider of the build: ring (issue 27).
//!
//! reqwest is compiled with `rustls-no-provider`, so it takes rustls's process default and
//! panics when none is installed. Every HTTP client in the workspace is therefore built
//! through [`http_client`], which installs ring first; the binaries also call [`install`]
//! at start-up, before anything else (OTLP's exporter builds its own reqwest client).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// Installs ring as rustls's process-wide provider. Idempotent: a second call, or a
/// provider installed by someone else first, leaves the installed one in place.
pub fn install() {
    // `install_default` fails only when a provider is already installed: the only one this
    // build compiles is ring, so whichever call won installed the same thing.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The installed provider (ring), installing it first when needed. For code that builds
/// its own rustls configs (`builder_with_provider`).
pub fn provider() -> Arc<CryptoProvider> {
    install();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// A reqwest client builder that is safe to `build()`: the provider is installed.
pub fn http_client() -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_builds_and_the_provider_is_ring() {
        http_client()
            .build()
            .expect("a client builds with ring installed");
        let installed = CryptoProvider::get_default().expect("a provider is installed");
        let ring = rustls::crypto::ring::default_provider();
        let names = |p: &CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(installed), names(&ring));
        assert_eq!(
            installed.kx_groups.len(),
            ring.kx_groups.len(),
            "ring's key exchange groups (aws-lc-rs adds post-quantum ones)"
        );
    }
}
