//! HTTPS through the proxy, for a fault that carries `tls`: one client connection that
//! opened with a TLS handshake. The upstream connection is made first, offering the
//! client's own SNI and ALPN list, and the client is then answered with the protocol the
//! server chose (what is shown and trusted: [`tls_settings`](super::tls_settings)).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::server::Acceptor;
use tokio::net::TcpStream;
use tokio_rustls::{LazyConfigAcceptor, TlsConnector};

use super::connection::serve_http;
use super::exchange::{Exchange, Shared};
use super::sockets::reset_on_close;
use super::tls_settings::{Terminate, UpstreamTls};

/// Serves one client connection that opened with a TLS handshake: upstream first, then
/// the client's handshake with the protocol the server chose, then HTTP as for plain
/// connections. A destination that refuses, or fails the check, gets the client a reset,
/// as a refused connection would.
pub async fn serve(
    conn: TcpStream,
    handle: std::net::TcpStream,
    dest: SocketAddr,
    shared: Arc<Shared>,
    tls: Arc<Terminate>,
) {
    let Ok(start) = LazyConfigAcceptor::new(Acceptor::default(), conn).await else {
        return;
    };
    let (name, offered) = {
        let hello = start.client_hello();
        let name = hello
            .server_name()
            .and_then(|n| ServerName::try_from(n.to_string()).ok())
            .unwrap_or_else(|| ServerName::IpAddress(dest.ip().into()));
        let offered: Vec<Vec<u8>> = hello
            .alpn()
            .map(|i| i.map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        (name, offered)
    };
    let Some((upstream, first)) = connect(&shared, &tls, dest, name, offered).await else {
        let _ = reset_on_close(&handle);
        return;
    };
    let chosen = first.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let Ok(cfg) = tls.server_config(chosen) else {
        return;
    };
    let Ok(client) = start.into_stream(Arc::new(cfg)).await else {
        return;
    };
    let Some(exchange) = Exchange::over_tls(shared, dest, upstream, first).await else {
        let _ = reset_on_close(&handle);
        return;
    };
    serve_http(client, handle, Arc::new(exchange)).await;
}

/// The first upstream TLS connection, offering the client's ALPN list.
async fn connect(
    shared: &Shared,
    tls: &Terminate,
    dest: SocketAddr,
    name: ServerName<'static>,
    offered: Vec<Vec<u8>>,
) -> Option<(UpstreamTls, tokio_rustls::client::TlsStream<TcpStream>)> {
    let tcp = shared.dialer.connect(dest).await.ok()?;
    let first = TlsConnector::from(Arc::new(tls.client_config(offered).ok()?))
        .connect(name.clone(), tcp)
        .await
        .map_err(|e| tracing::debug!(%dest, error = %e, "the HTTPS destination failed the proxy's check"))
        .ok()?;
    // Later connections of this exchange ask for the protocol the server chose.
    let chosen = first.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let again = tls.client_config(chosen.into_iter().collect()).ok()?;
    let upstream = UpstreamTls {
        connector: TlsConnector::from(Arc::new(again)),
        name,
    };
    Some((upstream, first))
}
