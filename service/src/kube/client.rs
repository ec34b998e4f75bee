//! Builds the [`kube::Client`](::kube::Client) the service uses: in-cluster service account
//! when running as a pod, else the kubeconfig (`KUBECONFIG`, `~/.kube/config`), with the
//! client-side rate limit of [`RateLimitLayer`] in front.

use ::kube::client::ClientBuilder;
use ::kube::{Client, Config};

use super::error::KubeError;
use super::rate_limit::RateLimitLayer;

/// How hard the service may press the API server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientOptions {
    /// Requests a second on average (`--kube-qps`).
    pub qps: f64,
    /// Requests allowed at once after a quiet spell (`--kube-burst`).
    pub burst: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            qps: 50.0,
            burst: 100,
        }
    }
}

/// Connects with the in-cluster config, or the kubeconfig when not in a pod.
pub async fn connect(opts: ClientOptions) -> Result<Client, KubeError> {
    install_crypto_provider();
    let config = match Config::incluster() {
        Ok(c) => c,
        Err(in_cluster) => {
            tracing::debug!(error = %in_cluster, "not in a pod; trying the kubeconfig");
            Config::infer().await.map_err(KubeError::Config)?
        }
    };
    let builder = ClientBuilder::try_from(config).map_err(KubeError::Client)?;
    Ok(builder
        .with_layer(&RateLimitLayer::new(opts.qps, opts.burst))
        .build())
}

/// rustls is compiled with two providers in this workspace (aws-lc-rs for reqwest and
/// kube, ring for lettre), so it has no default of its own and kube-client's
/// `ClientConfig::builder()` would panic. Installing one is a no-op when something else
/// already did.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
