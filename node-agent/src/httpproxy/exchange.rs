//! One request through the proxy: matched against the policy, then forwarded untouched,
//! or delayed, answered in the server's place, reset, or changed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, TRANSFER_ENCODING};
use hyper::{HeaderMap, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{Mutex, Notify};

use super::policy::{Action, Dice, Policy, Stats};
use super::sockets::Dialer;
use super::tls_settings::{Terminate, UpstreamTls};
use faultline_spec::fault::HttpTarget;
use faultline_spec::fault::http::{HttpChanges, grpc_status_for, merge_patch};

/// A body as the proxy passes it on: the peer's, streamed, or one it wrote.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// What every connection of one proxy shares.
#[derive(Debug)]
pub struct Shared {
    /// The fault.
    pub policy: Policy,
    /// The counters `observe` reads.
    pub stats: Arc<Stats>,
    /// `probability`'s draw.
    pub dice: Dice,
    /// How upstream connections are made.
    pub dialer: Dialer,
    /// HTTPS termination, when the fault carries `tls`.
    pub tls: Option<Arc<Terminate>>,
}

/// The server side of one client connection: where it was going, and its upstream
/// connection once one is open (HTTP/1.1 requests on a connection come one at a time,
/// HTTP/2 ones share it).
pub struct Exchange {
    shared: Arc<Shared>,
    dest: SocketAddr,
    upstream: Mutex<Option<Upstream>>,
    /// Notified to reset the client's connection.
    pub reset: Arc<Notify>,
    /// Set when the client spoke TLS: upstream connections are TLS too.
    tls: Option<UpstreamTls>,
}

enum Upstream {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

/// Why a request could not be passed on: the client's connection is then reset, as it
/// would have been refused without the proxy.
struct Unreachable;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

impl Exchange {
    /// The exchange of a client connection that was addressed to `dest`.
    pub fn new(shared: Arc<Shared>, dest: SocketAddr) -> Exchange {
        Exchange {
            shared,
            dest,
            upstream: Mutex::new(None),
            reset: Arc::new(Notify::new()),
            tls: None,
        }
    }

    /// The exchange of a TLS client connection, with its first upstream connection
    /// (already through its TLS handshake, which chose the protocol).
    pub async fn over_tls(
        shared: Arc<Shared>,
        dest: SocketAddr,
        tls: UpstreamTls,
        first: UpstreamTlsStream,
    ) -> Option<Exchange> {
        let version = alpn_version(first.get_ref().1.alpn_protocol());
        let upstream = handshake(TokioIo::new(first), version).await?;
        let mut exchange = Exchange::new(shared, dest);
        exchange.upstream = Mutex::new(Some(upstream));
        exchange.tls = Some(tls);
        Some(exchange)
    }

    /// Answers `req`; a reset answers never (the connection is cut instead).
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        let s = &self.shared;
        s.stats.requests.fetch_add(1, Ordering::Relaxed);
        let picked = {
            let h = req.headers();
            s.policy
                .matching
                .matches(req.method().as_str(), req.uri().path(), |n| {
                    h.get(n).and_then(|v| v.to_str().ok())
                })
                && s.dice.hits(s.policy.matching.share())
        };
        let req = req.map(BodyExt::boxed);
        let answer = if picked {
            self.fault(req).await
        } else {
            s.stats.forwarded.fetch_add(1, Ordering::Relaxed);
            self.forward(req).await.map(|r| r.map(BodyExt::boxed))
        };
        match answer {
            Ok(r) => Ok(r),
            Err(Unreachable) => self.cut().await,
        }
    }

    /// Resets the client's connection; never returns.
    async fn cut(&self) -> Result<Response<Body>, Infallible> {
        self.reset.notify_one();
        std::future::pending().await
    }

    fn counted(&self) {
        self.shared.stats.faulted.fetch_add(1, Ordering::Relaxed);
    }

    async fn fault(&self, req: Request<Body>) -> Result<Response<Body>, Unreachable> {
        let grpc = is_grpc(req.headers());
        match (self.shared.policy.target, &self.shared.policy.action) {
            (HttpTarget::Request, Action::Delay(d)) => {
                tokio::time::sleep(*d).await;
                self.counted();
                Ok(self.forward(req).await?.map(BodyExt::boxed))
            }
            (HttpTarget::Response, Action::Delay(d)) => {
                let r = self.forward(req).await?;
                // The whole answer is held, not just its head.
                let (parts, body) = r.into_parts();
                let body = body.collect().await.map_err(|_| Unreachable)?;
                tokio::time::sleep(*d).await;
                self.counted();
                Ok(Response::from_parts(parts, full(body.to_bytes())))
            }
            (target, Action::Abort { code, body }) => {
                if target == HttpTarget::Response {
                    let r = self.forward(req).await?;
                    let _ = r.into_body().collect().await;
                }
                self.counted();
                Ok(abort(*code, body.as_deref(), grpc))
            }
            (target, Action::Reset) => {
                if target == HttpTarget::Response {
                    let r = self.forward(req).await?;
                    let _ = r.into_body().collect().await;
                }
                self.counted();
                self.cut().await.map_err(|never| match never {})
            }
            (HttpTarget::Request, Action::Replace(c)) => {
                let (mut parts, body) = req.into_parts();
                let body = body.collect().await.map_err(|_| Unreachable)?.to_bytes();
                let body = self.change(&mut parts.headers, body, c);
                Ok(self
                    .forward(Request::from_parts(parts, full(body)))
                    .await?
                    .map(BodyExt::boxed))
            }
            (HttpTarget::Response, Action::Replace(c)) => {
                let (mut parts, body) = self.forward(req).await?.into_parts();
                let body = body.collect().await.map_err(|_| Unreachable)?.to_bytes();
                let body = self.change(&mut parts.headers, body, c);
                Ok(Response::from_parts(parts, full(body)))
            }
        }
    }

    /// `c` applied to a message's headers and body; counted as faulted unless the patch
    /// met a body that is not JSON (passed on unchanged, counted as spared).
    fn change(&self, headers: &mut HeaderMap, body: Bytes, c: &HttpChanges) -> Bytes {
        let body = match (&c.body, &c.patch) {
            (Some(b), _) => Bytes::from(b.clone()),
            (None, Some(p)) => match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(mut v) => {
                    merge_patch(&mut v, p);
                    Bytes::from(v.to_string())
                }
                Err(_) => {
                    self.shared.stats.spared.fetch_add(1, Ordering::Relaxed);
                    return body;
                }
            },
            (None, None) => body,
        };
        for (k, v) in &c.headers {
            // The spec checked both; a value the checks let through is skipped.
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.insert(k, v);
            }
        }
        headers.remove(TRANSFER_ENCODING);
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        self.counted();
        body
    }

    /// `req` sent to where the client meant it to go; the server's answer.
    async fn forward(&self, req: Request<Body>) -> Result<Response<Incoming>, Unreachable> {
        let mut up = self.upstream.lock().await;
        let fresh = match up.as_ref() {
            Some(Upstream::H1(s)) => s.is_closed(),
            Some(Upstream::H2(s)) => s.is_closed(),
            None => true,
        };
        if fresh {
            *up = Some(self.open(req.version()).await.ok_or(Unreachable)?);
        }
        match up.as_mut() {
            Some(Upstream::H1(s)) => {
                s.ready().await.map_err(|_| Unreachable)?;
                s.send_request(req).await.map_err(|_| Unreachable)
            }
            Some(Upstream::H2(s)) => {
                let mut s = s.clone();
                drop(up); // HTTP/2 streams share the connection concurrently
                s.send_request(req).await.map_err(|_| Unreachable)
            }
            None => Err(Unreachable),
        }
    }

    /// An upstream connection speaking `version` to the original destination.
    async fn open(&self, version: Version) -> Option<Upstream> {
        let tcp = self.shared.dialer.connect(self.dest).await.ok()?;
        if let Some(tls) = &self.tls {
            let stream = tls.connector.connect(tls.name.clone(), tcp).await.ok()?;
            return handshake(TokioIo::new(stream), version).await;
        }
        handshake(TokioIo::new(tcp), version).await
    }
}

/// The upstream side of a TLS exchange.
pub type UpstreamTlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// The HTTP version an ALPN protocol id stands for (h2, else HTTP/1.1).
fn alpn_version(alpn: Option<&[u8]>) -> Version {
    if alpn == Some(b"h2") {
        Version::HTTP_2
    } else {
        Version::HTTP_11
    }
}

/// An HTTP client connection speaking `version` over `io`.
async fn handshake<I>(io: TokioIo<I>, version: Version) -> Option<Upstream>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if version == Version::HTTP_2 {
        let (send, conn) = http2::handshake(TokioExecutor::new(), io).await.ok()?;
        tokio::spawn(conn);
        Some(Upstream::H2(send))
    } else {
        let (send, conn) = http1::handshake(io).await.ok()?;
        tokio::spawn(conn);
        Some(Upstream::H1(send))
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/grpc"))
}

/// The answer of an abort: `code` and `body`; for gRPC a Trailers-Only response (HTTP
/// 200, `grpc-status` mapped from `code`, no body), as the gRPC protocol writes an
/// immediate error.
fn abort(code: u16, body: Option<&str>, grpc: bool) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    if grpc {
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        h.insert(
            "grpc-status",
            HeaderValue::from(u16::from(grpc_status_for(code))),
        );
        h.insert(
            "grpc-message",
            HeaderValue::from_str(&format!("faultline httpAbort {code}"))
                .unwrap_or(HeaderValue::from_static("faultline")),
        );
        return r;
    }
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if let Some(b) = body {
        *r.body_mut() = full(b.to_string());
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    r
}
