//! A test resolver inside a network namespace: a UDP responder on the nameserver's
//! addresses and the `resolv.conf` that names it, each removed on drop, so the DNS tests
//! and the DNS bench set up the same resolver path; and a client's one query over UDP or
//! TCP from another namespace.
//!
//! Neither side parses DNS: this crate depends on no workspace crate, so each
//! caller hands it the answer it wants (built with the agent's `dnsproxy::wire`, or the
//! query echoed back).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::net::in_netns;

/// Sends `query` from the namespace at `netns` to `server` over UDP: the response, `None`
/// after 1 s of silence.
pub async fn ask_udp(netns: &Path, server: &str, query: Vec<u8>) -> Option<Vec<u8>> {
    let (path, server) = (netns.to_path_buf(), parse(server));
    tokio::task::spawn_blocking(move || {
        let any = if server.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let sock = in_netns(&path, move || UdpSocket::bind(any)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        sock.send_to(&query, server).unwrap();
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).ok()?;
        Some(buf[..n].to_vec())
    })
    .await
    .unwrap()
}

/// The same over TCP (two-byte length prefix each way); `None` when the connection is
/// refused or no answer comes within 2 s.
pub async fn ask_tcp(netns: &Path, server: &str, query: Vec<u8>) -> Option<Vec<u8>> {
    let (path, server) = (netns.to_path_buf(), parse(server));
    tokio::task::spawn_blocking(move || {
        let mut conn = in_netns(&path, move || {
            TcpStream::connect_timeout(&server, Duration::from_secs(1))
        })
        .ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut out = (query.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&query);
        conn.write_all(&out).ok()?;
        let mut len = [0u8; 2];
        conn.read_exact(&mut len).ok()?;
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        conn.read_exact(&mut msg).ok()?;
        Some(msg)
    })
    .await
    .unwrap()
}

fn parse(server: &str) -> SocketAddr {
    server
        .parse()
        .unwrap_or_else(|e| panic!("`{server}` is not an address:port: {e}"))
}

/// How the responder answers one datagram: it writes the reply into the (cleared) buffer
/// it is given, and nothing is sent when it leaves the buffer empty. The buffer is kept
/// between queries, so an answer costs no allocation (the bench's responder must not be
/// what it measures).
pub type Answer = dyn Fn(&[u8], &mut Vec<u8>) + Send + Sync;

/// A UDP responder in a network namespace, one thread per address it listens on; the
/// threads stop and are joined on drop.
pub struct UdpResponder {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpResponder {
    /// Binds each of `addrs` (`"10.77.0.2:53"`, `"[fd77::2]:53"`) inside the namespace at
    /// `netns` and answers every datagram with `answer`.
    pub fn start(
        netns: &Path,
        addrs: &[impl AsRef<str>],
        answer: impl Fn(&[u8], &mut Vec<u8>) + Send + Sync + 'static,
    ) -> UdpResponder {
        let answer: Arc<Answer> = Arc::new(answer);
        let stop = Arc::new(AtomicBool::new(false));
        let threads = addrs
            .iter()
            .map(|addr| {
                let addr = addr.as_ref().to_string();
                let sock = in_netns(netns, move || UdpSocket::bind(&addr))
                    .unwrap_or_else(|e| panic!("bind the test resolver: {e}"));
                // Wakes the loop to see the stop flag.
                sock.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                let (flag, answer) = (stop.clone(), answer.clone());
                std::thread::spawn(move || serve(&sock, &flag, &*answer))
            })
            .collect();
        UdpResponder { stop, threads }
    }
}

/// Answers datagrams on `sock` until `stop` is set.
fn serve(sock: &UdpSocket, stop: &AtomicBool, answer: &Answer) {
    let mut buf = [0u8; 512];
    let mut reply = Vec::with_capacity(512);
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        reply.clear();
        answer(&buf[..n], &mut reply);
        if !reply.is_empty() {
            let _ = sock.send_to(&reply, from);
        }
    }
}

impl Drop for UdpResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `/etc/netns/<netns>/resolv.conf` naming `nameserver`: what `ip netns exec` shows the
/// namespace's processes as their resolver. The directory is removed on drop.
pub struct ResolvConf(PathBuf);

impl ResolvConf {
    /// Writes the file for the named namespace (as `ip netns` names it).
    pub fn new(netns: &str, nameserver: &str) -> ResolvConf {
        let dir = PathBuf::from(format!("/etc/netns/{netns}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        std::fs::write(
            dir.join("resolv.conf"),
            format!("nameserver {nameserver}\n"),
        )
        .unwrap_or_else(|e| panic!("write {}/resolv.conf: {e}", dir.display()));
        ResolvConf(dir)
    }
}

impl Drop for ResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
