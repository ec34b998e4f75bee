//! The proxy's accept loop and its connections: HTTP/1.1 and h2c are served by hyper
//! (each request through an [`Exchange`]); a TLS connection is decrypted when the fault
//! has `tls` ([`super::tls`]), else, unreadable, faulted as a whole or passed through
//! byte for byte.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::{TcpListener, TcpStream};

use super::connection::serve_http;
use super::exchange::{Exchange, Shared};
use super::policy::Action;
use super::sockets::reset_on_close;

/// The first byte of a TLS record carrying a handshake (a ClientHello opens with it).
const TLS_HANDSHAKE: u8 = 0x16;

/// Accepts connections for ever; each is served on its own task, held in a set that
/// ends with this loop, so stopping the proxy cuts every connection it was serving (no
/// proxied connection outlives the fault).
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = conns.join_next() => continue,
        };
        let Ok((conn, _)) = accepted else {
            continue;
        };
        // For a transparently proxied socket the local address is where the client meant
        // to go (the `tproxy` rule changed nothing in the packets).
        let Ok(dest) = conn.local_addr() else {
            continue;
        };
        // The dual-stack listener writes an IPv4 destination `::ffff:a.b.c.d`; upstream
        // is dialled with the family of the address itself.
        let dest = SocketAddr::new(dest.ip().to_canonical(), dest.port());
        let _ = conn.set_nodelay(true);
        conns.spawn(serve(conn, dest, shared.clone()));
    }
}

async fn serve(conn: TcpStream, dest: SocketAddr, shared: Arc<Shared>) {
    let mut first = [0u8; 1];
    if conn.peek(&mut first).await.unwrap_or(0) == 0 {
        return;
    }
    // A second descriptor of the same socket, to set SO_LINGER 0 on when the fault
    // resets the connection while hyper owns the stream.
    let Ok(std) = conn.into_std() else { return };
    let Ok(handle) = std.try_clone() else { return };
    let Ok(conn) = TcpStream::from_std(std) else {
        return;
    };
    if first[0] == TLS_HANDSHAKE {
        if let Some(tls) = shared.tls.clone() {
            return super::tls::serve(conn, handle, dest, shared, tls).await;
        }
        return opaque(conn, handle, dest, shared).await;
    }
    serve_http(conn, handle, Arc::new(Exchange::new(shared, dest))).await;
}

/// A connection the proxy cannot read (TLS): held, reset, or passed through whole.
async fn opaque(
    mut conn: TcpStream,
    handle: std::net::TcpStream,
    dest: SocketAddr,
    shared: Arc<Shared>,
) {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    let picked = shared.policy.applies_to_opaque_streams()
        && matches!(shared.policy.action, Action::Delay(_) | Action::Reset)
        && shared.dice.hits(shared.policy.matching.share());
    if picked {
        shared.stats.faulted.fetch_add(1, Ordering::Relaxed);
        match shared.policy.action {
            Action::Delay(d) => tokio::time::sleep(d).await,
            _ => {
                let _ = reset_on_close(&handle);
                return;
            }
        }
    } else {
        shared.stats.forwarded.fetch_add(1, Ordering::Relaxed);
    }
    let Ok(mut up) = shared.dialer.connect(dest).await else {
        // Refused upstream: the client sees a reset, as it would without the proxy.
        let _ = reset_on_close(&handle);
        return;
    };
    drop(handle);
    let _ = tokio::io::copy_bidirectional(&mut conn, &mut up).await;
}
