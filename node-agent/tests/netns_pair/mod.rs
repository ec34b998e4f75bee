//! Test scaffolding: two network namespaces joined by a veth, removed on drop (even when
//! the test fails). Set-up uses the `ip` command; the product never does.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use faultline_agent::netns;
use faultline_agent::{FaultId, FaultRecord, Resolved};
use faultline_spec::{LocalTarget, NodeFault};

/// Runs a shell command for set-up or a cross-check; panics with its output on failure.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fault record aimed at the netns at `path`, as the agent would journal it.
pub fn record(tag: &str, kind: NodeFault, path: &Path) -> FaultRecord {
    FaultRecord {
        id: FaultId::new(format!("{tag}-{}", std::process::id())).unwrap(),
        kind,
        target: LocalTarget::Netns(path.display().to_string()),
        resolved: Resolved {
            netns: Some(path.to_path_buf()),
            ..Resolved::default()
        },
        lease_until: Utc::now() + chrono::Duration::hours(1),
    }
}

/// `fltest-<pid>-<tag>-a` (10.77.0.1, veth `va`) <-> `fltest-<pid>-<tag>-b` (10.77.0.2, `vb`).
pub struct NetnsPair {
    /// Name of side a.
    pub a: String,
    /// Name of side b.
    pub b: String,
    a_alive: bool,
}

impl NetnsPair {
    pub fn new(tag: &str) -> NetnsPair {
        let a = format!("fltest-{}-{tag}-a", std::process::id());
        let b = format!("fltest-{}-{tag}-b", std::process::id());
        // Leftovers of an earlier crashed run with the same pid would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &a]).output();
        let _ = Command::new("ip").args(["netns", "del", &b]).output();
        let pair = NetnsPair {
            a: a.clone(),
            b: b.clone(),
            a_alive: true,
        };
        sh(&format!(
            "ip netns add {a} && ip netns add {b} && \
             ip -n {a} link add va type veth peer name vb netns {b} && \
             ip -n {a} addr add 10.77.0.1/24 dev va && ip -n {b} addr add 10.77.0.2/24 dev vb && \
             ip -n {a} link set va up && ip -n {b} link set vb up && \
             ip -n {a} link set lo up && ip -n {b} link set lo up"
        ));
        pair
    }

    pub fn a_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.a))
    }

    pub fn b_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.b))
    }

    pub fn b_addr(&self) -> &'static str {
        "10.77.0.2/32"
    }

    pub fn a_ifindex(&self) -> u32 {
        let out = sh(&format!("ip -n {} -o link show va", self.a));
        out.split(':').next().unwrap().trim().parse().unwrap()
    }

    /// `tc qdisc show` in a, the cross-check of what our netlink code reads.
    pub fn tc_show_a(&self) -> String {
        sh(&format!("tc -n {} qdisc show", self.a))
    }

    pub fn delete_a(&mut self) {
        sh(&format!("ip netns del {}", self.a));
        self.a_alive = false;
    }

    /// Bytes per second of a TCP transfer of `bytes` from `from` to `to_ip`:`port` (0: any
    /// free port) in `to`, measured at the receiver from first to last byte (so connection
    /// set-up does not count).
    pub fn throughput(from: &Path, to: &Path, to_ip: &str, port: u16, bytes: usize) -> f64 {
        let listener = netns::run_in(to, move || TcpListener::bind(("0.0.0.0", port)))
            .unwrap()
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0usize;
            let mut first = None;
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                first.get_or_insert_with(Instant::now);
                got += n;
            }
            (got, first.unwrap().elapsed())
        });
        let addr: SocketAddr = format!("{to_ip}:{port}").parse().unwrap();
        let mut s = netns::run_in(from, move || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        })
        .unwrap()
        .unwrap();
        s.write_all(&vec![7u8; bytes]).unwrap();
        drop(s);
        let (got, took) = reader.join().unwrap();
        assert_eq!(got, bytes);
        got as f64 / took.as_secs_f64()
    }

    pub fn throughput_a_to_b(&self, bytes: usize) -> f64 {
        Self::throughput(&self.a_path(), &self.b_path(), "10.77.0.2", 0, bytes)
    }

    pub fn throughput_b_to_a(&self, bytes: usize) -> f64 {
        Self::throughput(&self.b_path(), &self.a_path(), "10.77.0.1", 0, bytes)
    }

    /// A TCP connect from a to a listener in b, within 1 s.
    pub fn tcp_connects_a_to_b(&self) -> bool {
        let listener = netns::run_in(&self.b_path(), || TcpListener::bind("0.0.0.0:0"))
            .unwrap()
            .unwrap();
        let addr: SocketAddr = format!("10.77.0.2:{}", listener.local_addr().unwrap().port())
            .parse()
            .unwrap();
        netns::run_in(&self.a_path(), move || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        })
        .unwrap()
    }

    /// A UDP datagram from b to an echo socket in a, answered within 1 s.
    pub fn udp_echo_b_to_a(&self) -> bool {
        let server = netns::run_in(&self.a_path(), || UdpSocket::bind("0.0.0.0:0"))
            .unwrap()
            .unwrap();
        let port = server.local_addr().unwrap().port();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            if let Ok((n, peer)) = server.recv_from(&mut buf) {
                let _ = server.send_to(&buf[..n], peer);
            }
        });
        let client = netns::run_in(&self.b_path(), || UdpSocket::bind("0.0.0.0:0"))
            .unwrap()
            .unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        client
            .send_to(b"ping", format!("10.77.0.1:{port}"))
            .unwrap();
        let mut buf = [0u8; 64];
        let ok = matches!(client.recv_from(&mut buf), Ok((4, _)));
        echo.join().unwrap();
        ok
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        if self.a_alive {
            let _ = Command::new("ip").args(["netns", "del", &self.a]).output();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.b]).output();
    }
}
