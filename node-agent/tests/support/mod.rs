//! What the agent's tests and benches share that needs the agent's own types: fault records
//! as the journal holds them, the real `faultline-agent` binary on loopback, the stress
//! workers' traces in /proc and a cgroup's accounting. Everything that needs no agent type
//! is in the `faultline-test-support` crate. The benches include this file by path.
#![allow(dead_code)] // each includer uses a different part

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use faultline_agent::AgentClient;
use faultline_agent::cgroup::{TestCgroup, usage};
use faultline_agent::faults::stress::worker::MARKER;
use faultline_agent::faults::{FaultId, FaultRecord};
use faultline_agent::netlink::Netlink;
use faultline_agent::target::Resolved;
use faultline_spec::{
    BitRate, Bytes, LocalTarget, NetworkScope, NodeFault, fault::NetworkBandwidth,
};
use faultline_test_support::{Proc, next_number};

/// Workers are the agent binary re-exec'ed: the test harness's own `main` cannot be one.
pub fn use_agent_binary_for_workers() {
    faultline_agent::faults::stress::set_worker_exe(env!("CARGO_BIN_EXE_faultline-agent"));
}

/// A record as the journal would hold it, with an hour of lease (these tests call the
/// executors directly; no lease watcher runs) and the id `<tag>-<pid>-<n>`: unique in the
/// machine (pid) and in the test binary (n), and starting with the tag because what a fault
/// makes is named after its id (nft table `faultline_<tag>_...`) and tests look for it.
pub fn record(tag: &str, kind: NodeFault, target: LocalTarget, resolved: Resolved) -> FaultRecord {
    let id = format!("{tag}-{}-{}", std::process::id(), next_number());
    FaultRecord {
        id: FaultId::new(id).unwrap(),
        kind,
        target,
        resolved,
        lease_until: Utc::now() + chrono::Duration::hours(1),
        prior: None,
    }
}

/// [`record`] aimed at the network namespace at `path`.
pub fn netns_record(tag: &str, kind: NodeFault, path: &Path) -> FaultRecord {
    record(
        tag,
        kind,
        LocalTarget::Netns(path.display().to_string()),
        Resolved {
            netns: Some(path.to_path_buf()),
            ..Resolved::default()
        },
    )
}

/// Processes whose argv carries the worker marker and `id`, read straight from /proc
/// (independently of the code under test).
pub fn marked(id: &FaultId) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let argv = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let argv: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
        if argv.len() > 2 && argv[1] == MARKER.as_bytes() && argv[2] == id.as_str().as_bytes() {
            out.push(pid);
        }
    }
    out
}

/// Cores the cgroup used over `over` (cpu ns / wall ns).
pub async fn cores(cg: &TestCgroup, over: Duration) -> f64 {
    let t0 = Instant::now();
    let u0 = usage::cpu_ns(&cg.dirs).unwrap().unwrap();
    tokio::time::sleep(over).await;
    let u1 = usage::cpu_ns(&cg.dirs).unwrap().unwrap();
    (u1 - u0) as f64 / t0.elapsed().as_nanos() as f64
}

/// Memory charged to the cgroup, bytes.
pub fn memory(cg: &TestCgroup) -> u64 {
    usage::memory_bytes(&cg.dirs).unwrap().unwrap()
}

/// The fault the agent benches apply: tbf on `va` (the machine's kernel has no sch_netem;
/// the kernel tier measures netem).
pub fn bandwidth_on_va() -> NodeFault {
    NodeFault::NetworkBandwidth(NetworkBandwidth {
        rate: "10mbit".parse::<BitRate>().expect("rate"),
        limit: Bytes(64 * 1024),
        buffer: Bytes(16 * 1024),
        peakrate: None,
        minburst: None,
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

/// The real `faultline-agent` binary on a loopback port with a bearer token.
///
/// Dropping it sends SIGTERM — the agent recovers every fault it holds before it exits, so
/// a failing test leaves nothing applied — then kills it if it lingers over 5 s. (The
/// tests' copy only killed it, leaving its faults to the next agent; the benches' copy did
/// this.) A test that wants the faults to outlive the agent kills it first.
pub struct AgentProc {
    /// The process.
    pub proc: Proc,
    /// Its port.
    pub port: u16,
    ip: String,
    token: String,
    _dir: Option<tempfile::TempDir>,
}

impl AgentProc {
    /// Starts the agent over `state_dir` with the token in `token_file`, on 127.0.0.1:`port`
    /// (0: a port of its own, read back from /proc — see `faultline_test_support::ports`),
    /// and waits until it listens.
    pub fn start(state_dir: &Path, token_file: &Path, port: u16) -> AgentProc {
        AgentProc::start_with(state_dir, token_file, port, |_| {})
    }

    /// As [`AgentProc::start`], with more arguments or environment set by `more`.
    pub fn start_with(
        state_dir: &Path,
        token_file: &Path,
        port: u16,
        more: impl FnOnce(&mut Command),
    ) -> AgentProc {
        let token = std::fs::read_to_string(token_file).expect("the token file");
        AgentProc::spawn(
            "127.0.0.1",
            port,
            state_dir,
            token_file,
            token.trim(),
            None,
            more,
        )
    }

    /// An agent on `ip` (port 0) with a temp state dir and token of its own, logging only
    /// errors (lapses are the point of some benches; their warnings would drown the
    /// table); returned once `/healthz` answers.
    pub async fn start_quiet(ip: &str) -> AgentProc {
        let dir = tempfile::tempdir().expect("temp dir");
        let token = format!("bench-agent-token-{}-0123456789", next_number());
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, &token).expect("token file");
        let state = dir.path().join("state");
        let agent = AgentProc::spawn(ip, 0, &state, &token_file, &token, Some(dir), |c| {
            c.env("RUST_LOG", "error");
        });
        let client = agent.client();
        let started = Instant::now();
        while client.health().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "agent on {} did not come up",
                agent.url()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        agent
    }

    fn spawn(
        ip: &str,
        port: u16,
        state_dir: &Path,
        token_file: &Path,
        token: &str,
        dir: Option<tempfile::TempDir>,
        more: impl FnOnce(&mut Command),
    ) -> AgentProc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline-agent"));
        cmd.args(["--listen", &format!("{ip}:{port}")])
            .arg("--state-dir")
            .arg(state_dir)
            .arg("--token-file")
            .arg(token_file)
            .stdin(Stdio::null());
        more(&mut cmd);
        let mut proc = Proc::spawn(&mut cmd);
        let port = proc.wait_listening();
        AgentProc {
            proc,
            port,
            ip: ip.to_string(),
            token: token.to_string(),
            _dir: dir,
        }
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// A client with its token.
    pub fn client(&self) -> AgentClient {
        AgentClient::new(self.url(), Some(self.token.clone())).expect("agent client")
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        self.proc.signal(sig);
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        if self.proc.exited() {
            return;
        }
        self.proc.signal(nix::sys::signal::Signal::SIGTERM);
        // `proc`'s own drop kills what is still there after this.
        faultline_test_support::wait_until(Duration::from_secs(5), || self.proc.exited());
    }
}
