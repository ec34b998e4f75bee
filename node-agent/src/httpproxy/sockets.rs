//! The proxy's sockets, made in the target's network namespace: the transparent listener
//! the `tproxy` rule hands connections to, and marked upstream connections the fault's
//! rules let pass.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, SockaddrIn6, bind, listen, setsockopt,
    socket, sockopt,
};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::error::FaultError;
use crate::netns;

fn stream_socket(family: AddressFamily) -> io::Result<OwnedFd> {
    socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)
}

/// A listener on `[::]:<any port>` (IPv4 and IPv6, `IPV6_V6ONLY` off) in the namespace
/// at `netns`, or on `0.0.0.0` when the namespace has no IPv6, with `IP_TRANSPARENT`
/// (one flag for both families in the kernel): the `tproxy` rules hand it connections
/// addressed to other addresses and ports, and each accepted socket's local address is
/// where the client meant to go (an IPv4 one written `::ffff:a.b.c.d`). True when it
/// takes IPv6.
pub async fn transparent_listener(netns: &Path) -> Result<(TcpListener, bool), FaultError> {
    let path = netns.to_path_buf();
    let io_err = |action: &'static str, e: io::Error| FaultError::Io {
        action,
        path: netns.to_path_buf(),
        source: e,
    };
    let std = tokio::task::spawn_blocking(move || {
        netns::run_in(&path, || -> io::Result<(std::net::TcpListener, bool)> {
            let (fd, ipv6) = match dual_stack() {
                Ok(fd) => (fd, true),
                Err(_) => {
                    let fd = stream_socket(AddressFamily::Inet)?;
                    setsockopt(&fd, sockopt::IpTransparent, &true)?;
                    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
                    bind(
                        fd.as_raw_fd(),
                        &SockaddrIn::from(SocketAddrV4::new([0, 0, 0, 0].into(), 0)),
                    )?;
                    (fd, false)
                }
            };
            listen(&fd, Backlog::new(1024).unwrap_or(Backlog::MAXCONN))?;
            Ok((std::net::TcpListener::from(fd), ipv6))
        })
    })
    .await
    .map_err(|e| io_err("start the HTTP proxy in", io::Error::other(e)))??
    .map_err(|e| io_err("listen (IP_TRANSPARENT) for the HTTP proxy in", e))?;
    let (std, ipv6) = std;
    let listener =
        TcpListener::from_std(std).map_err(|e| io_err("register the HTTP proxy of", e))?;
    Ok((listener, ipv6))
}

/// The IPv4-and-IPv6 socket bound to `[::]:0`; fails where the namespace has no IPv6.
fn dual_stack() -> io::Result<OwnedFd> {
    let fd = stream_socket(AddressFamily::Inet6)?;
    setsockopt(&fd, sockopt::Ipv6V6Only, &false)?;
    setsockopt(&fd, sockopt::IpTransparent, &true)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)),
    )?;
    Ok(fd)
}

/// Where upstream connections come from: the target's namespace, marked `mark` so the
/// fault's own rules let them pass.
#[derive(Debug, Clone)]
pub struct Dialer {
    /// The target's network namespace.
    pub netns: PathBuf,
    /// The socket mark of upstream connections.
    pub mark: u32,
}

impl Dialer {
    /// A TCP connection to `dest` from the target's namespace.
    pub async fn connect(&self, dest: SocketAddr) -> io::Result<TcpStream> {
        let (path, mark) = (self.netns.clone(), self.mark);
        let marked = move || -> io::Result<OwnedFd> {
            let family = if dest.is_ipv6() {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            };
            let fd = stream_socket(family)?;
            setsockopt(&fd, sockopt::Mark, &mark)?;
            Ok(fd)
        };
        // On the proxy's own thread the socket is made in place (it is in the namespace).
        let fd = if super::thread_netns::entered(&path) {
            marked()?
        } else {
            Self::made_in(path, marked).await?
        };
        let stream = TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
        let conn = stream.connect(dest).await?;
        conn.set_nodelay(true)?;
        Ok(conn)
    }

    /// A socket made by `make` on the agent's netns worker thread, inside `path`.
    async fn made_in(
        path: PathBuf,
        make: impl FnOnce() -> io::Result<OwnedFd> + Send + 'static,
    ) -> io::Result<OwnedFd> {
        tokio::task::spawn_blocking(move || netns::run_in(&path, make))
            .await
            .map_err(io::Error::other)?
            .map_err(io::Error::other)?
    }
}

/// Makes closing `stream` (and every copy of its descriptor) send a TCP RST rather
/// than a FIN: `SO_LINGER` on with a zero timeout.
pub fn reset_on_close(stream: &std::net::TcpStream) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    setsockopt(stream, sockopt::Linger, &linger).map_err(io::Error::from)
}
