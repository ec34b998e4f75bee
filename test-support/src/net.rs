//! Network namespaces and veth pairs for the tests whose subject is the kernel, each
//! behind a guard that deletes it on drop — even when the test panics — so a failing test
//! leaves no namespace behind (rtnetlink's `add_qdisc.rs` tests do the same). Names come
//! from [`crate::unique`]. Set-up uses the `ip` command; the product never does.
//!
//! Needs root; the tests that use them run as root (see `./test.sh`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::names::unique;
use crate::process::sh;

/// Runs `f` on a fresh thread that has entered the network namespace at `path`, and
/// returns its result. Sockets made by `f` stay in that namespace after the thread ends.
///
/// This is the fixture's own `setns`, independent of the agent's code under test.
pub fn in_netns<T, F>(path: &Path, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("open network namespace {}: {e}", path.display()));
    let shown = path.display().to_string();
    std::thread::spawn(move || {
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("enter network namespace {shown}: {e}"));
        f()
    })
    .join()
    .expect("the job in the network namespace panicked")
}

/// A named network namespace (`ip netns add`), deleted on drop.
#[derive(Debug)]
pub struct Netns {
    /// Its name, `fltest-<pid>-<tag>-<n>`.
    pub name: String,
    alive: bool,
}

impl Netns {
    /// Creates `fltest-<pid>-<tag>-<n>`.
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        // A leftover of a killed earlier run whose pid this process now has (a SIGKILL runs
        // no guard) would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        sh(&format!("ip netns add {name}"));
        Netns { name, alive: true }
    }

    /// `/run/netns/<name>`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }

    /// Deletes it now (for tests of a namespace that vanishes under a fault).
    pub fn delete(&mut self) {
        sh(&format!("ip netns del {}", self.name));
        self.alive = false;
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if self.alive {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name])
                .output();
        }
    }
}

/// Two namespaces joined by a veth: side a (10.77.0.1/24, device `va`) and side b
/// (10.77.0.2/24, `vb`), links and loopback up. The two namespaces are separate, so the
/// same addresses in another pair never meet these.
pub struct NetnsPair {
    /// Name of side a.
    pub a: String,
    /// Name of side b.
    pub b: String,
    // Guards, dropped after the fields above; b before a is irrelevant (the veth goes
    // with whichever namespace goes first).
    ns_a: Netns,
    _ns_b: Netns,
}

impl NetnsPair {
    /// Creates the pair `fltest-<pid>-<tag>-<n>` (a) and `...-<n+1>` (b).
    pub fn new(tag: &str) -> NetnsPair {
        // The guards exist before the veth set-up, so a set-up failing half-way still
        // removes both namespaces.
        let (ns_a, ns_b) = (Netns::new(tag), Netns::new(tag));
        let (a, b) = (ns_a.name.clone(), ns_b.name.clone());
        sh(&format!(
            "ip -n {a} link add va type veth peer name vb netns {b} && \
             ip -n {a} addr add 10.77.0.1/24 dev va && ip -n {b} addr add 10.77.0.2/24 dev vb && \
             ip -n {a} link set va up && ip -n {b} link set vb up && \
             ip -n {a} link set lo up && ip -n {b} link set lo up"
        ));
        NetnsPair {
            a,
            b,
            ns_a,
            _ns_b: ns_b,
        }
    }

    /// `/run/netns/<a>`.
    pub fn a_path(&self) -> PathBuf {
        self.ns_a.path()
    }

    /// `/run/netns/<b>`.
    pub fn b_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.b))
    }

    /// Side b's address as a /32 (a partition's destination).
    pub fn b_addr(&self) -> &'static str {
        "10.77.0.2/32"
    }

    /// The ifindex of `va` in a.
    pub fn a_ifindex(&self) -> u32 {
        let out = sh(&format!("ip -n {} -o link show va", self.a));
        out.split(':').next().unwrap().trim().parse().unwrap()
    }

    /// `tc qdisc show` in a, the cross-check of what our netlink code reads.
    pub fn tc_show_a(&self) -> String {
        sh(&format!("tc -n {} qdisc show", self.a))
    }

    /// Deletes side a now (a fault's namespace vanishing).
    pub fn delete_a(&mut self) {
        self.ns_a.delete();
    }

    /// Bytes per second of a TCP transfer of `bytes` from `from` to `to_ip`:`port` (0: any
    /// free port) in `to`, measured at the receiver from first to last byte (so connection
    /// set-up does not count).
    pub fn throughput(from: &Path, to: &Path, to_ip: &str, port: u16, bytes: usize) -> f64 {
        let listener = in_netns(to, move || TcpListener::bind(("0.0.0.0", port))).unwrap();
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
        let mut s = in_netns(from, move || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        })
        .unwrap();
        s.write_all(&vec![7u8; bytes]).unwrap();
        drop(s);
        let (got, took) = reader.join().unwrap();
        assert_eq!(got, bytes);
        got as f64 / took.as_secs_f64()
    }

    /// [`NetnsPair::throughput`] from a to b.
    pub fn throughput_a_to_b(&self, bytes: usize) -> f64 {
        Self::throughput(&self.a_path(), &self.b_path(), "10.77.0.2", 0, bytes)
    }

    /// [`NetnsPair::throughput`] from b to a.
    pub fn throughput_b_to_a(&self, bytes: usize) -> f64 {
        Self::throughput(&self.b_path(), &self.a_path(), "10.77.0.1", 0, bytes)
    }

    /// A TCP connect from a to a listener in b, within 1 s.
    pub fn tcp_connects_a_to_b(&self) -> bool {
        let listener = in_netns(&self.b_path(), || TcpListener::bind("0.0.0.0:0")).unwrap();
        let addr: SocketAddr = format!("10.77.0.2:{}", listener.local_addr().unwrap().port())
            .parse()
            .unwrap();
        in_netns(&self.a_path(), move || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        })
    }

    /// A UDP datagram from b to an echo socket in a, answered within 1 s.
    pub fn udp_echo_b_to_a(&self) -> bool {
        let server = in_netns(&self.a_path(), || UdpSocket::bind("0.0.0.0:0")).unwrap();
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
        let client = in_netns(&self.b_path(), || UdpSocket::bind("0.0.0.0:0")).unwrap();
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

/// N namespaces, each holding a veth pair of its own (`va` and `vb`, both up): the targets
/// of the agent benches. Created by one shell (a hundred namespaces with one `ip` call per
/// step would time the shell, not the bench), each deleted on drop.
pub struct NetnsTargets {
    /// Their names, `fltest-<pid>-<tag>-<n>-<i>`.
    pub names: Vec<String>,
}

impl NetnsTargets {
    /// Creates `n` of them.
    pub fn new(tag: &str, n: usize) -> NetnsTargets {
        let base = unique(tag);
        // The guard exists before the set-up runs, so a set-up failing half-way is still
        // cleaned up.
        let t = NetnsTargets {
            names: (0..n).map(|i| format!("{base}-{i}")).collect(),
        };
        let mut script = String::from("set -e\n");
        for ns in &t.names {
            script.push_str(&format!(
                "ip netns del {ns} 2>/dev/null || true\n\
                 ip netns add {ns} && ip -n {ns} link add va type veth peer name vb && \
                 ip -n {ns} link set va up && ip -n {ns} link set vb up\n"
            ));
        }
        sh(&script);
        t
    }

    /// `/run/netns/<name>` of each.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.names
            .iter()
            .map(|n| PathBuf::from(format!("/run/netns/{n}")))
            .collect()
    }
}

impl Drop for NetnsTargets {
    fn drop(&mut self) {
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exists(name: &str) -> bool {
        Path::new(&format!("/run/netns/{name}")).exists()
    }

    #[test]
    fn a_namespace_is_gone_after_a_panicking_test() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("SKIPPED: network namespaces need root");
            return;
        }
        let mut names = Vec::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let pair = NetnsPair::new("guard");
            names = vec![pair.a.clone(), pair.b.clone()];
            assert!(pair.tcp_connects_a_to_b());
            panic!("the test fails");
        }));
        assert!(r.is_err());
        assert!(names.iter().all(|n| !exists(n)), "{names:?} left behind");
    }

    #[test]
    fn targets_have_a_veth_each_and_are_gone_after_drop() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("SKIPPED: network namespaces need root");
            return;
        }
        let t = NetnsTargets::new("targets", 3);
        let names = t.names.clone();
        for n in &names {
            assert!(
                sh(&format!("ip -n {n} -o link show va")).contains("UP"),
                "{n}"
            );
        }
        assert_eq!(t.paths().len(), 3);
        drop(t);
        assert!(names.iter().all(|n| !exists(n)), "{names:?} left behind");
    }
}
