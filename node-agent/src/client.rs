//! [`AgentClient`]: what the service uses to call an agent's HTTP API, over plain HTTP or,
//! with [`ClientTls`], over HTTPS checked against a CA file and optionally showing a
//! client certificate (mutual TLS).

use std::time::Duration;

use faultline_exporter::{TRACEPARENT, TraceParent};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::faults::FaultId;
use crate::protocol::{
    ApplyRequest, ApplyResponse, ErrorBody, Health, ListResponse, ObserveResponse, RecoverResponse,
    RenewRequest, RenewResponse,
};
use crate::tls::{ClientTls, TlsError};

/// Why a call to an agent failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent answered with an error status; `message` is its explanation.
    #[error("agent {url} answered {status}: {message}")]
    Status {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The agent's `error` message, or the raw body if it had none.
        message: String,
    },
    /// The TLS handshake with the agent failed: its certificate is not signed by the CA,
    /// has expired or names another host, or it refused this client's certificate.
    #[error("TLS handshake with agent {url} failed: {reason}")]
    Tls {
        /// The URL called.
        url: String,
        /// rustls's reason ("invalid peer certificate: UnknownIssuer", ...).
        reason: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS files given for agents cannot be used.
    #[error("cannot set up TLS to agent {url}")]
    TlsFiles {
        /// The agent URL the client was for.
        url: String,
        /// Which file and why (boxed: it is large, and rare).
        #[source]
        source: Box<TlsError>,
    },
    /// The request did not get an answer (connect, timeout, ...), or the answer did not
    /// decode.
    #[error("failed to call agent {url}")]
    Transport {
        /// The URL called.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
}

impl ClientError {
    /// The HTTP status, if the agent answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client for one agent.
#[derive(Debug, Clone)]
pub struct AgentClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl AgentClient {
    /// A client for the agent at `base` (e.g. `http://10.0.0.5:7150`), sending `token` as a
    /// bearer token when given. Calls time out after 30 s.
    pub fn new(base: impl Into<String>, token: Option<String>) -> Result<AgentClient, ClientError> {
        AgentClient::with_tls(base, token, None)
    }

    /// As [`AgentClient::new`], over HTTPS only when `tls` is given: the agent's
    /// certificate is checked against `tls.ca` only (for `tls.server_name` when set), and
    /// `tls.identity` is shown when the agent asks for a client certificate. Every file is
    /// read now; an error names it.
    pub fn with_tls(
        base: impl Into<String>,
        token: Option<String>,
        tls: Option<&ClientTls>,
    ) -> Result<AgentClient, ClientError> {
        let base = base.into().trim_end_matches('/').to_string();
        // The agent's server (actix-web) closes a connection idle for 5 s. A pooled
        // connection reused just as the server closes it fails the request with
        // "connection closed before message completed" (a recover after a quiet fault
        // window hit exactly that), so the pool lets go of idle connections first.
        let mut builder = faultline_exporter::tls_provider::http_client()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(3));
        if let Some(tls) = tls {
            let config = tls.config().map_err(|source| ClientError::TlsFiles {
                url: base.clone(),
                source: Box::new(source),
            })?;
            // HTTPS only: a client given TLS settings refuses an `http://` agent URL
            // rather than sending the token in clear.
            builder = builder.tls_backend_preconfigured(config).https_only(true);
        }
        let http = builder.build().map_err(|source| ClientError::Transport {
            url: base.clone(),
            source,
        })?;
        Ok(AgentClient { http, base, token })
    }

    /// A client for another agent at `base`, sharing this one's connection pool and
    /// token (one client probing a thousand agents, not a thousand clients).
    pub fn at(&self, base: &str) -> AgentClient {
        AgentClient {
            http: self.http.clone(),
            base: base.trim_end_matches('/').to_string(),
            token: self.token.clone(),
        }
    }

    /// `POST /v1/faults`.
    pub async fn apply(&self, req: &ApplyRequest) -> Result<ApplyResponse, ClientError> {
        self.apply_under(req, None).await
    }

    /// `POST /v1/faults` with a W3C `traceparent` header naming `parent` (the fault's
    /// span), so the agent's span of the call joins that trace.
    pub async fn apply_under(
        &self,
        req: &ApplyRequest,
        parent: Option<&TraceParent>,
    ) -> Result<ApplyResponse, ClientError> {
        self.call(Method::POST, "/v1/faults".into(), Some(req), parent)
            .await
    }

    /// `POST /v1/faults/{id}/renew`.
    pub async fn renew(
        &self,
        id: &FaultId,
        lease_seconds: u64,
    ) -> Result<RenewResponse, ClientError> {
        self.renew_under(id, lease_seconds, None).await
    }

    /// [`AgentClient::renew`] under `parent` (see [`AgentClient::apply_under`]).
    pub async fn renew_under(
        &self,
        id: &FaultId,
        lease_seconds: u64,
        parent: Option<&TraceParent>,
    ) -> Result<RenewResponse, ClientError> {
        self.call(
            Method::POST,
            format!("/v1/faults/{id}/renew"),
            Some(&RenewRequest { lease_seconds }),
            parent,
        )
        .await
    }

    /// `DELETE /v1/faults/{id}`.
    pub async fn recover(&self, id: &FaultId) -> Result<RecoverResponse, ClientError> {
        self.recover_under(id, None).await
    }

    /// [`AgentClient::recover`] under `parent` (see [`AgentClient::apply_under`]).
    pub async fn recover_under(
        &self,
        id: &FaultId,
        parent: Option<&TraceParent>,
    ) -> Result<RecoverResponse, ClientError> {
        self.call::<(), _>(Method::DELETE, format!("/v1/faults/{id}"), None, parent)
            .await
    }

    /// The agent's base URL (`http://10.0.0.5:7150`).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /v1/faults/{id}/observation`: whether each record of request `id` is seen in
    /// effect, read back from the kernel by the agent.
    pub async fn observe(&self, id: &FaultId) -> Result<ObserveResponse, ClientError> {
        self.observe_under(id, None).await
    }

    /// [`AgentClient::observe`] under `parent` (see [`AgentClient::apply_under`]).
    pub async fn observe_under(
        &self,
        id: &FaultId,
        parent: Option<&TraceParent>,
    ) -> Result<ObserveResponse, ClientError> {
        self.call::<(), _>(
            Method::GET,
            format!("/v1/faults/{id}/observation"),
            None,
            parent,
        )
        .await
    }

    /// `GET /v1/faults`.
    pub async fn list(&self) -> Result<ListResponse, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/faults".into(), None, None)
            .await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call::<(), _>(Method::GET, "/healthz".into(), None, None)
            .await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<&B>,
        parent: Option<&TraceParent>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let transport = |source| transport_error(url.clone(), source);
        let request = || {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            if let Some(p) = parent {
                req = req.header(TRACEPARENT, p.header_value());
            }
            req
        };
        let resp = match request().send().await {
            // A pooled connection the agent closed as it was reused fails before any
            // answer; reading or recovering twice is harmless, so those ask once more
            // on a fresh connection instead of failing a recover over a stale socket.
            Err(e) if idempotent(&method) && stale_connection(&e) => {
                tracing::debug!(url = %url, error = %e, "agent connection went stale; asking again");
                request().send().await
            }
            sent => sent,
        }
        .map_err(transport)?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(transport);
        }
        let text = resp.text().await.map_err(transport)?;
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error)
            .unwrap_or(text);
        Err(ClientError::Status {
            url,
            status,
            message,
        })
    }
}

/// GET and DELETE: the calls that may be sent twice (recover of a gone fault answers
/// "already gone").
fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::DELETE)
}

/// The request went out on a connection that closed under it, with no answer: not a
/// timeout, not a refused connect, not TLS.
fn stale_connection(e: &reqwest::Error) -> bool {
    e.is_request() && !e.is_timeout() && !e.is_connect() && tls_reason(e).is_none()
}

/// A transport error, told apart as [`ClientError::Tls`] when rustls refused the
/// handshake: "UnknownIssuer" says more to an operator than "error sending request".
fn transport_error(url: String, source: reqwest::Error) -> ClientError {
    match tls_reason(&source) {
        Some(reason) => ClientError::Tls {
            url,
            reason,
            source,
        },
        None => ClientError::Transport { url, source },
    }
}

/// rustls's error somewhere in `err`'s chain. `io::Error` hides the error it wraps from
/// `source()` (it shows it in its own `Display`), and hyper wraps rustls's error in two of
/// them, so look inside those too.
fn tls_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut pending = vec![err];
    while let Some(e) = pending.pop() {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
        pending.extend(e.source());
    }
    None
}
