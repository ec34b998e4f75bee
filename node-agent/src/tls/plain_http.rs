//! [`RefusePlainHttp`]: plain HTTP on an HTTPS port answered in words (serve's and the
//! agent's listeners).
//!
//! `HttpServer::listen_rustls_0_23` hands every connection to rustls, which reads
//! `GET / HTTP/1.1` as a TLS record of an unknown type and answers a 7-byte alert: curl
//! then says "Received HTTP/0.9 when not allowed", reqwest "invalid HTTP version parsed".
//! So this listener looks at a connection's first byte before the handshake (every TLS
//! connection starts with a handshake record, 0x16; every HTTP/1 request with a method's
//! capital letter) and answers plain HTTP with a 400 that says to use https://. The
//! listeners wrap actix-http's TLS service with it ([`listen_https`]); everything else is
//! what `HttpServer` does: the same App, actix-http's TLS acceptor, the same timeouts.

use std::rc::Rc;
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::{HttpService, Request, Response};
use actix_server::{Server, ServerBuilder};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt as _, map_config,
};
use actix_web::dev::AppConfig;
use futures::future::LocalBoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a connection may stay silent before its first byte; then it goes to the TLS
/// acceptor, whose handshake timeout applies.
const FIRST_BYTE: Duration = Duration::from_secs(3);

/// The answer to plain HTTP on the HTTPS port.
pub const REFUSAL: &str = "this port serves HTTPS: use an https:// URL\n";

/// Wraps a TLS+HTTP service factory (actix-http's `rustls_0_23`) so that connections
/// speaking plain HTTP get [`REFUSAL`] instead of a TLS alert.
#[derive(Clone)]
pub struct RefusePlainHttp<F>(pub F);

impl<F> ServiceFactory<TcpStream> for RefusePlainHttp<F>
where
    F: ServiceFactory<TcpStream, Config = (), Response = ()>,
    F::Service: 'static,
    F::Future: 'static,
{
    type Response = ();
    type Error = F::Error;
    type Config = ();
    type Service = RefusePlainHttpService<F::Service>;
    type InitError = F::InitError;
    type Future = LocalBoxFuture<'static, Result<Self::Service, Self::InitError>>;

    fn new_service(&self, cfg: ()) -> Self::Future {
        let inner = self.0.new_service(cfg);
        Box::pin(async move {
            Ok(RefusePlainHttpService {
                inner: Rc::new(inner.await?),
            })
        })
    }
}

/// One worker's [`RefusePlainHttp`].
pub struct RefusePlainHttpService<S> {
    inner: Rc<S>,
}

impl<S> Service<TcpStream> for RefusePlainHttpService<S>
where
    S: Service<TcpStream, Response = ()> + 'static,
{
    type Response = ();
    type Error = S::Error;
    type Future = LocalBoxFuture<'static, Result<(), S::Error>>;

    actix_service::forward_ready!(inner);

    fn call(&self, io: TcpStream) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            if speaks_plain_http(&io).await {
                refuse(io).await;
                return Ok(());
            }
            inner.call(io).await
        })
    }
}

/// Whether the connection's first byte is an HTTP method's (an ASCII capital letter); a
/// TLS ClientHello starts with 0x16. Silence or an error: not plain HTTP (the TLS
/// acceptor decides).
async fn speaks_plain_http(io: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(
        tokio::time::timeout(FIRST_BYTE, io.peek(&mut first)).await,
        Ok(Ok(1)) if first[0].is_ascii_uppercase()
    )
}

/// Reads what the client sent (so closing does not reset the connection before it reads
/// the answer), answers 400 with [`REFUSAL`], and closes.
async fn refuse(mut io: TcpStream) {
    let peer = io.peer_addr().ok();
    tracing::debug!(?peer, "plain HTTP on the HTTPS port: answered 400");
    let mut request = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_millis(200), io.read(&mut request)).await;
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{REFUSAL}",
        REFUSAL.len()
    );
    let _ = io.write_all(answer.as_bytes()).await;
    let _ = io.shutdown().await;
}

/// Serves the App `make_app` builds over HTTPS on `listener` the way
/// `HttpServer::listen_rustls_0_23` does (the same bounds, acceptor and timeouts), with
/// plain HTTP answered by [`REFUSAL`]. `server` carries the caller's workers, signal and
/// shutdown settings.
pub fn listen_https<F, I, S, B>(
    server: ServerBuilder,
    listener: std::net::TcpListener,
    config: rustls::ServerConfig,
    make_app: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let local = listener.local_addr()?;
    // Idle keep-alive connections close at a graceful stop instead of holding it for the
    // whole shutdown timeout (what HttpServer wires up too).
    let stopping = server.graceful_shutdown_signal();
    Ok(server
        .listen("https", listener, move || {
            let stopping = stopping.clone();
            let app = make_app()
                .into_factory()
                .map_err(|e| e.into().error_response());
            let host = local.to_string();
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                // `secure: true` makes the request's scheme https (the URLs an API writes);
                // `AppConfig::new` is crate-private, this is its public twin.
                .finish(map_config(app, move |_| {
                    AppConfig::__priv_test_new(true, host.clone(), local)
                }))
                .rustls_0_23(config.clone());
            RefusePlainHttp(http)
        })?
        .run())
}
