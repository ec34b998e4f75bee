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

/// kube-client's `ClientConfig::builder()` takes rustls's process default: ring, the
/// build's only provider (issue 27). Installing it is a no-op when something else already
/// did (the binaries do at start-up; tests may not).
fn install_crypto_provider() {
    faultline_exporter::tls_provider::install();
}
