//! Bench scaffolding shared by the agent benches: network-namespace targets and real
//! `faultline-agent` processes on loopback, each removed on drop so a failed bench leaves
//! nothing behind. Set-up uses the `ip` command; the product never does.
#![allow(dead_code)] // each bench uses a part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faultline_agent::AgentClient;
use faultline_agent::netlink::Netlink;
use faultline_spec::{BitRate, Bytes, NetworkScope, NodeFault, fault::NetworkBandwidth};

/// N namespaces `fltest-<pid>-<tag>-<i>`, each holding a veth pair (`va` up); removed on drop
/// (which also removes any qdisc left in them).
pub struct Targets(pub Vec<String>);

impl Targets {
    pub fn new(tag: &str, n: usize) -> Targets {
        let names: Vec<String> = (0..n)
            .map(|i| format!("fltest-{}-{tag}-{i}", std::process::id()))
            .collect();
        // Built before the set-up runs, so a set-up failing half-way is still cleaned up.
        let t = Targets(names);
        let mut script = String::from("set -e\n");
        for ns in &t.0 {
            script.push_str(&format!(
                "ip netns del {ns} 2>/dev/null || true\n\
                 ip netns add {ns} && ip -n {ns} link add va type veth peer name vb && \
                 ip -n {ns} link set va up && ip -n {ns} link set vb up\n"
            ));
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "creating {n} netns targets failed (root needed): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    /// `/run/netns/<name>` of each target.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.0
            .iter()
            .map(|n| PathBuf::from(format!("/run/netns/{n}")))
            .collect()
    }
}

impl Drop for Targets {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The fault both agent benches apply: tbf on `va` (the machine's kernel has no sch_netem;
/// the kernel tier measures netem).
pub fn bandwidth_on_va() -> NodeFault {
    NodeFault::NetworkBandwidth(NetworkBandwidth {
        rate: "10mbps".parse::<BitRate>().expect("rate"),
        limit: Bytes(64 * 1024),
        buffer: Bytes(16 * 1024),
        scope: NetworkScope {
            device: Some("va".into()),
            ..NetworkScope::default()
        },
    })
}

/// True when a tbf qdisc sits in the namespace behind `nl`.
pub async fn has_tbf(nl: &Netlink) -> bool {
    nl.qdisc()
        .list(None)
        .await
        .expect("tc qdisc show over netlink")
        .iter()
        .any(|q| q.kind == "tbf")
}

/// A real `faultline-agent` process on a loopback port with a token. Dropping it sends
/// SIGTERM (the agent recovers every fault before it exits), then kills it if it lingers.
pub struct AgentProc {
    child: Child,
    pub url: String,
    pub token: String,
    _dir: tempfile::TempDir,
}

impl AgentProc {
    /// Starts the agent and waits until `/healthz` answers.
    pub async fn start(addr_ip: &str) -> AgentProc {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind((addr_ip, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let token = format!("bench-agent-token-{port}-0123456789");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, &token).expect("token file");
        let child = Command::new(env!("CARGO_BIN_EXE_faultline-agent"))
            .args(["--listen", &format!("{addr_ip}:{port}")])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--token-file")
            .arg(&token_file)
            // Lapses are the point of P3; their warnings would drown the bench's table.
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn faultline-agent");
        let agent = AgentProc {
            child,
            url: format!("http://{addr_ip}:{port}"),
            token,
            _dir: dir,
        };
        let client = agent.client();
        let started = Instant::now();
        while client.health().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "agent on {} did not come up",
                agent.url
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        agent
    }

    pub fn client(&self) -> AgentClient {
        AgentClient::new(self.url.clone(), Some(self.token.clone())).expect("agent client")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn state_dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Nearest-rank percentile `q` (0..=100) of `v`, sorted ascending.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
