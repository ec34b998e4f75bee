//! The DNS proxy the DNS faults run in a target's network namespace: it answers the
//! queries a [`Policy`] picks itself (an error, or nothing) and forwards every other query
//! to the target's nameserver, relaying the answer unchanged.
//!
//! Its sockets are made in the target's namespace (on the netns worker, `netns::run_in`),
//! so the proxy listens on that namespace's `127.0.0.1` and `::1` (one port for both: an
//! nft `redirect` sends IPv4 to the first and IPv6 to the second) and its upstream queries
//! leave from there too, marked with [`MARK`] so the fault's nftables redirect lets them pass.
//! The tasks live in the agent: the proxy dies with it, and the nft table that would
//! then point at nothing is named by the journal and removed by recovery.
//!
//! Forwarded queries go upstream over UDP, also those that came over TCP; an answer too
//! big for UDP reaches a TCP client truncated (TC set), as the upstream sent it.

pub mod wire;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::error::FaultError;
use crate::netns;
use faultline_spec::fault::DnsAnswer;
use faultline_spec::fault::dns::glob_matches;

/// The socket mark of the proxy's own upstream queries; the redirect skips marked packets.
pub const MARK: u32 = 0x0fa1_7d05;

/// How long a forwarded query waits for upstream before the client gets nothing (it
/// retries, as it would with the real server slow).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

/// What a matching query gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An error code, or no answer (`DnsAnswer::Drop`).
    Answer(DnsAnswer),
    /// Held this long plus up to `jitter`, then forwarded.
    Delay {
        /// The least it is held.
        latency: Duration,
        /// Up to this much more, uniformly.
        jitter: Duration,
    },
    /// A and AAAA answered with these addresses (those of the query's family), `ttl`
    /// seconds; other types forwarded.
    Spoof {
        /// The addresses.
        addresses: Vec<IpAddr>,
        /// Instead of `addresses`, a random address of the query's family each time.
        random: bool,
        /// Their TTL in seconds.
        ttl: u32,
    },
}

/// Which queries the proxy answers itself, and how.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Name globs (lower case); a query matching one is picked.
    pub patterns: Vec<String>,
    /// Query types picked (numbers); empty: every type.
    pub types: Vec<u16>,
    /// Share of matching queries picked, 0..=1.
    pub probability: f64,
    /// What a picked query gets.
    pub action: Action,
}

impl Policy {
    /// Whether `q` matches by name and type (before `probability`).
    pub fn matches(&self, q: &wire::Question) -> bool {
        let spoofable = !matches!(self.action, Action::Spoof { .. }) || matches!(q.qtype, 1 | 28);
        spoofable
            && (self.types.is_empty() || self.types.contains(&q.qtype))
            && self.patterns.iter().any(|g| glob_matches(g, &q.name))
    }
}

/// The proxy's counters since it started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Queries received (UDP and TCP).
    pub queries: AtomicU64,
    /// Queries answered with the fault (or, for `drop`, not answered).
    pub faulted: AtomicU64,
    /// Queries forwarded upstream.
    pub forwarded: AtomicU64,
}

impl Stats {
    /// (queries, faulted, forwarded) now.
    pub fn read(&self) -> (u64, u64, u64) {
        (
            self.queries.load(Ordering::Relaxed),
            self.faulted.load(Ordering::Relaxed),
            self.forwarded.load(Ordering::Relaxed),
        )
    }
}

/// A running proxy; dropping it stops it.
#[derive(Debug)]
pub struct Proxy {
    /// The port it listens on, UDP and TCP, at `127.0.0.1` in the target's namespace.
    pub port: u16,
    /// Whether it also listens on that port at `::1` (the namespace has IPv6).
    pub ipv6: bool,
    /// Its counters.
    pub stats: Arc<Stats>,
    /// The upstream it forwards to.
    pub upstream: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What every query handler shares.
struct Shared {
    netns: PathBuf,
    upstream: SocketAddr,
    policy: Policy,
    stats: Arc<Stats>,
    dice: AtomicU64,
    /// Upstream sockets not in use, each with its receive buffer (see [`Shared::forward`]).
    idle: std::sync::Mutex<Vec<(UdpSocket, Vec<u8>)>>,
}

/// Idle upstream sockets kept for reuse; more in flight at once are closed after use.
const IDLE_SOCKETS: usize = 64;

impl Shared {
    /// A uniform draw in 0..1 (xorshift; a fault's probability needs no better).
    fn roll(&self) -> f64 {
        let mut x = self.dice.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.dice.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random address of the family `qtype` asks for (AAAA: IPv6, else IPv4).
    fn random_address(&self, qtype: u16) -> IpAddr {
        let bits = |s: &Self| (s.roll() * (1u64 << 53) as f64) as u64;
        if qtype == 28 {
            let v = (u128::from(bits(self)) << 75)
                ^ (u128::from(bits(self)) << 22)
                ^ u128::from(bits(self));
            IpAddr::V6(Ipv6Addr::from(v))
        } else {
            IpAddr::V4(Ipv4Addr::from(bits(self) as u32))
        }
    }

    /// The reply to `msg`: ours when the policy picks it, upstream's otherwise; `None`
    /// for no reply.
    async fn reply(&self, msg: Vec<u8>) -> Option<Vec<u8>> {
        self.stats.queries.fetch_add(1, Ordering::Relaxed);
        if let Some(q) = wire::question(&msg)
            && self.policy.matches(&q)
            && (self.policy.probability >= 1.0 || self.roll() < self.policy.probability)
        {
            self.stats.faulted.fetch_add(1, Ordering::Relaxed);
            match &self.policy.action {
                Action::Answer(a) => return a.rcode().map(|rc| wire::error_response(&msg, &q, rc)),
                Action::Spoof {
                    addresses,
                    random,
                    ttl,
                } => {
                    let drawn;
                    let answer = if *random {
                        drawn = [self.random_address(q.qtype)];
                        &drawn[..]
                    } else {
                        &addresses[..]
                    };
                    return Some(wire::address_response(&msg, &q, answer, *ttl));
                }
                Action::Delay { latency, jitter } => {
                    let extra = jitter.mul_f64(self.roll());
                    tokio::time::sleep(*latency + extra).await;
                }
            }
        } else {
            self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        }
        match self.forward(&msg).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(upstream = %self.upstream, error = %e, "DNS forward failed");
                None
            }
        }
    }
}

fn io_err(action: &'static str, path: &Path, source: io::Error) -> FaultError {
    FaultError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The proxy's listening sockets, bound in the target's namespace: UDP and TCP on one
/// port at `127.0.0.1` and, when the namespace has IPv6, at `::1`.
struct Listeners {
    port: u16,
    udp: Vec<std::net::UdpSocket>,
    tcp: Vec<std::net::TcpListener>,
    ipv6: bool,
}

/// Whether `e` says the namespace has no IPv6 (`disable_ipv6`, or no IPv6 in the kernel):
/// the proxy then serves IPv4 only, and IPv6 queries are not redirected.
fn no_ipv6(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::AddrNotAvailable || e.raw_os_error() == Some(nix::libc::EAFNOSUPPORT)
}

/// Binds [`Listeners`] on one free port; run inside the namespace. A port the kernel gave
/// the IPv4 UDP socket may be taken for another of the four: then another port is tried.
fn bind_listeners() -> io::Result<Listeners> {
    let mut last = None;
    for _ in 0..32 {
        let udp4 = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = udp4.local_addr()?.port();
        let tcp4 = match std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let v6 = std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, port))
            .and_then(|u| Ok((u, std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, port))?)));
        let (mut udp, mut tcp) = (vec![udp4], vec![tcp4]);
        let ipv6 = match v6 {
            Ok((u, t)) => {
                udp.push(u);
                tcp.push(t);
                true
            }
            Err(e) if no_ipv6(&e) => false,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        for u in &udp {
            u.set_nonblocking(true)?;
        }
        for t in &tcp {
            t.set_nonblocking(true)?;
        }
        return Ok(Listeners {
            port,
            udp,
            tcp,
            ipv6,
        });
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)))
}

/// Starts a proxy in the network namespace at `netns` that forwards to `upstream`.
pub async fn start(
    netns: &Path,
    upstream: SocketAddr,
    policy: Policy,
) -> Result<Proxy, FaultError> {
    let path = netns.to_path_buf();
    let bound = tokio::task::spawn_blocking(move || netns::run_in(&path, bind_listeners))
        .await
        .map_err(|e| io_err("start the DNS proxy in", netns, io::Error::other(e)))??
        .map_err(|e| io_err("bind the DNS proxy in", netns, e))?;
    let register = |e| io_err("register the DNS proxy of", netns, e);
    let udp = bound
        .udp
        .into_iter()
        .map(|u| UdpSocket::from_std(u).map(Arc::new))
        .collect::<io::Result<Vec<_>>>()
        .map_err(register)?;
    let tcp = bound
        .tcp
        .into_iter()
        .map(TcpListener::from_std)
        .collect::<io::Result<Vec<_>>>()
        .map_err(register)?;
    let port = bound.port;
    let stats = Arc::new(Stats::default());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    let shared = Arc::new(Shared {
        netns: netns.to_path_buf(),
        upstream,
        policy,
        stats: stats.clone(),
        dice: AtomicU64::new(seed),
        idle: std::sync::Mutex::new(Vec::new()),
    });
    let mut tasks: Vec<JoinHandle<()>> = udp
        .into_iter()
        .map(|u| tokio::spawn(serve_udp(u, shared.clone())))
        .collect();
    tasks.extend(
        tcp.into_iter()
            .map(|t| tokio::spawn(serve_tcp(t, shared.clone()))),
    );
    Ok(Proxy {
        port,
        ipv6: bound.ipv6,
        stats,
        upstream,
        tasks,
    })
}

async fn serve_udp(udp: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf).await else {
            continue;
        };
        let msg = buf[..n].to_vec();
        let (udp, shared) = (udp.clone(), shared.clone());
        tokio::spawn(async move {
            if let Some(r) = shared.reply(msg).await {
                let _ = udp.send_to(&r, from).await;
            }
        });
    }
}

async fn serve_tcp(tcp: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((conn, _)) = tcp.accept().await else {
            continue;
        };
        tokio::spawn(serve_conn(conn, shared.clone()));
    }
}

/// One TCP connection: length-prefixed queries (RFC 1035 §4.2.2), answered in turn.
async fn serve_conn(mut conn: TcpStream, shared: Arc<Shared>) {
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if conn.read_exact(&mut msg).await.is_err() {
            return;
        }
        if let Some(r) = shared.reply(msg).await {
            let Ok(n) = u16::try_from(r.len()) else {
                return;
            };
            let mut out = n.to_be_bytes().to_vec();
            out.extend_from_slice(&r);
            if conn.write_all(&out).await.is_err() {
                return;
            }
        }
    }
}

/// A UDP socket in the namespace at `netns`, marked so the redirect lets it pass, connected
/// to `upstream`.
async fn upstream_socket(netns: &Path, upstream: SocketAddr) -> io::Result<UdpSocket> {
    let path = netns.to_path_buf();
    let any: IpAddr = match upstream {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let std_sock = tokio::task::spawn_blocking(move || {
        netns::run_in(&path, move || -> io::Result<std::net::UdpSocket> {
            let s = std::net::UdpSocket::bind((any, 0))?;
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Mark, &MARK)
                .map_err(io::Error::from)?;
            s.set_nonblocking(true)?;
            Ok(s)
        })
    })
    .await
    .map_err(io::Error::other)?
    .map_err(io::Error::other)??;
    let sock = UdpSocket::from_std(std_sock)?;
    sock.connect(upstream).await?;
    Ok(sock)
}

impl Shared {
    /// `msg` to upstream over UDP from a marked socket in the namespace; its answer.
    ///
    /// A socket carries one query at a time, so the answer is the one with the query's id.
    /// Making one costs a trip into the namespace (`setns` on a blocking thread), which
    /// would bound the pass-through rate, so a socket is reused once its answer came; one
    /// whose query timed out is closed instead (a late answer must not meet the next
    /// query).
    async fn forward(&self, msg: &[u8]) -> io::Result<Option<Vec<u8>>> {
        if msg.len() < 12 {
            return Ok(None); // not even a header: nothing a server would answer
        }
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (sock, mut buf) = match reused {
            Some(idle) => idle,
            None => (
                upstream_socket(&self.netns, self.upstream).await?,
                vec![0u8; 65535],
            ),
        };
        sock.send(msg).await?;
        let wait = async {
            loop {
                let n = sock.recv(&mut buf).await?;
                // Only the answer to this query (same id).
                if n >= 2 && buf[..2] == msg[..2] {
                    return Ok::<_, io::Error>(buf[..n].to_vec());
                }
            }
        };
        let answer = match tokio::time::timeout(UPSTREAM_TIMEOUT, wait).await {
            Ok(r) => r?,
            Err(_) => return Ok(None),
        };
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_SOCKETS {
            idle.push((sock, buf));
        }
        Ok(Some(answer))
    }
}
