//! A real h2c (and HTTP/1.1) server for the HTTP fault tests, on hyper: it answers every
//! request with `x-server: real` and a JSON body naming the method and path, and a gRPC
//! request (`content-type: application/grpc`) as a gRPC server does: one
//! length-prefixed message and the trailers `grpc-status: 0`, `grpc-message: served`.
//! It runs on its own thread and runtime, bound in the namespace it was given; dropping it
//! stops it.

use std::convert::Infallible;
use std::path::Path;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::oneshot;

use faultline_test_support::in_netns;

/// The message a gRPC answer carries, after its 5-byte prefix (uncompressed, length 4).
pub const GRPC_MESSAGE: &[u8] = b"\0\0\0\0\x04pong";

/// The server; stops when dropped.
pub struct H2cServer {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl H2cServer {
    /// Listens on `addr` in the namespace at `netns`.
    pub fn start(netns: &Path, addr: &'static str) -> H2cServer {
        let listener = in_netns(netns, move || std::net::TcpListener::bind(addr)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((conn, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(async move {
                            let _ = auto::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(conn), service_fn(answer))
                                .await;
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        });
        H2cServer {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for H2cServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn answer(
    req: Request<Incoming>,
) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let grpc = req
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let _ = req.into_body().collect().await;
    let mut r = if grpc {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("grpc-message", HeaderValue::from_static("served"));
        let body = Full::new(Bytes::from_static(GRPC_MESSAGE))
            .with_trailers(async move { Some(Ok(trailers)) })
            .boxed();
        let mut r = Response::new(body);
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        r
    } else {
        let json = format!(r#"{{"method": "{method}", "path": "{path}"}}"#);
        let mut r = Response::new(Full::new(Bytes::from(json)).boxed());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    r.headers_mut()
        .insert("x-server", HeaderValue::from_static("real"));
    Ok(r)
}
