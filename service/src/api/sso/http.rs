//! The HTTP client `openidconnect` talks to the provider with: the workspace's reqwest
//! (ring, built through `faultline_exporter::tls_provider`), behind the crate's
//! `AsyncHttpClient` trait, so the crate needs no HTTP or TLS feature of its own.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// Why a request to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    /// The request could not be sent or its answer read.
    #[error("request to the OIDC provider failed")]
    Send(#[source] reqwest::Error),
    /// The answer could not be handed back (a header reqwest accepted but `http` not).
    #[error("the OIDC provider's answer could not be read")]
    Answer(#[source] openidconnect::http::Error),
}

/// Requests to the OIDC provider: discovery, keys, the code exchange.
#[derive(Debug, Clone)]
pub struct ProviderHttp(reqwest::Client);

/// How long one request to the provider may take: a sign-in waits on it.
const TIMEOUT: Duration = Duration::from_secs(10);

impl ProviderHttp {
    /// A client that follows no redirects: the provider's endpoints answer directly, and
    /// following them would let a bad discovery document point the service anywhere.
    pub fn new() -> Result<ProviderHttp, reqwest::Error> {
        faultline_exporter::tls_provider::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .map(ProviderHttp)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ProviderHttpError> {
        let (parts, body) = request.into_parts();
        let answer = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(ProviderHttpError::Send)?;
        let mut out = openidconnect::http::Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            out = out.header(name, value);
        }
        let body = answer.bytes().await.map_err(ProviderHttpError::Send)?;
        out.body(body.to_vec()).map_err(ProviderHttpError::Answer)
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
