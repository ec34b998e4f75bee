//! Guards and helpers shared by the stress scenario tests and the fidelity benchmark.
#![allow(dead_code)] // each includer uses a different part

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chrono::Utc;
use faultline_agent::cgroup::{TestCgroup, usage};
use faultline_agent::faults::stress::worker::MARKER;
use faultline_agent::faults::{FaultId, FaultRecord};
use faultline_agent::target::Resolved;
use faultline_spec::{LocalTarget, NodeFault};

/// Workers are the agent binary re-exec'ed: the test harness's own `main` cannot be one.
pub fn use_agent_binary_for_workers() {
    faultline_agent::faults::stress::set_worker_exe(env!("CARGO_BIN_EXE_faultline-agent"));
}

/// A child process killed and reaped on drop.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// `sleep 600`.
    pub fn sleep() -> ChildGuard {
        ChildGuard(
            Command::new("sleep")
                .arg("600")
                .spawn()
                .expect("spawn sleep"),
        )
    }

    /// `sleep 600` with argv[0] `argv0`, returned once `/proc/PID/cmdline` shows it.
    ///
    /// `spawn` returns when the kernel has swapped in the new image, a moment before exec
    /// writes the new argv into it; until then the cmdline reads empty. On a loaded
    /// machine a resolve by name in that moment found nothing (seen once in CI).
    pub fn sleep_named(argv0: &str) -> ChildGuard {
        use std::os::unix::process::CommandExt;
        let child = ChildGuard(
            Command::new("sleep")
                .arg0(argv0)
                .arg("600")
                .spawn()
                .expect("spawn sleep"),
        );
        let cmdline = format!("/proc/{}/cmdline", child.pid());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !std::fs::read(&cmdline).is_ok_and(|c| c.starts_with(argv0.as_bytes())) {
            assert!(
                std::time::Instant::now() < deadline,
                "{cmdline} never showed argv[0] {argv0}"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        child
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A unique test name: `fltest-<pid>-<tag>`.
pub fn name(tag: &str) -> String {
    format!("fltest-{}-{tag}", std::process::id())
}

/// A record as the journal would hold it.
pub fn record(tag: &str, kind: NodeFault, target: LocalTarget, resolved: Resolved) -> FaultRecord {
    FaultRecord {
        id: FaultId::new(name(tag)).unwrap(),
        kind,
        target,
        resolved,
        lease_until: Utc::now() + chrono::Duration::seconds(60),
    }
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

/// Polls `f` every 20 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
