//! One client connection, plain or the decrypted side of TLS, served by hyper (HTTP/1.1
//! and HTTP/2, each request through an [`Exchange`]) until the client is done or the
//! fault resets it.

use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use super::exchange::Exchange;
use super::sockets::reset_on_close;

/// Serves HTTP/1.1 or HTTP/2 on `io` (plain, or the decrypted side of TLS) through
/// `exchange`, until the client is done or the fault resets the connection (`handle`:
/// the connection's socket).
pub async fn serve_http<I>(io: I, handle: std::net::TcpStream, exchange: Arc<Exchange>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let reset = exchange.reset.clone();
    let service = service_fn(move |req| exchange.clone().handle(req));
    let builder = auto::Builder::new(TokioExecutor::new());
    let served = builder.serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = served => {}
        () = reset.notified() => {
            let _ = reset_on_close(&handle);
        }
    }
}
