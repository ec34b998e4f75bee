//! Bench scaffolding for the process-level service benches: a child process that is
//! killed on drop, resident memory of a process and of its whole tree read from /proc, a
//! command timed while its tree's RSS is sampled, and a tiny HTTP server on loopback.
#![allow(dead_code)] // each bench uses a part

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

#[path = "../../../bench/procfs.rs"]
mod procfs;
#[allow(unused_imports)] // each bench uses a part
pub use procfs::{measured_exe, rollup_kib, status_kib};

/// Kills and reaps the child on drop, so a failed bench leaves nothing running.
pub struct ProcGuard(pub Child);

impl ProcGuard {
    pub fn spawn(cmd: &mut Command) -> ProcGuard {
        ProcGuard(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program())),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pid` and all its descendants, from each thread's `children` list.
fn tree(pid: u32, out: &mut Vec<u32>) {
    out.push(pid);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for t in tasks.flatten() {
        let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for k in kids.split_whitespace().filter_map(|k| k.parse().ok()) {
            tree(k, out);
        }
    }
}

/// What [`measure`] saw.
pub struct Measured {
    pub wall: Duration,
    /// The largest process's peak RSS in the tree (its `VmHWM`, the kernel's own high-water
    /// mark, as `/usr/bin/time -v` reports it), KiB.
    pub peak_rss_kib: u64,
    /// Highest sampled (every [`PSS_EVERY`] samples) sum of the tree's PSS, KiB: the whole
    /// tree, with pages shared between its processes counted once (summing RSS would count a forked child's copy-on-write
    /// pages twice).
    pub peak_tree_pss_kib: u64,
    pub status: ExitStatus,
}

/// How often [`measure`] reads the tree's RSS high-water marks (cheap: `status`).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(1);
/// Every how many samples it also sums the tree's PSS: `smaps_rollup` walks the page
/// tables under the process's mmap lock, so reading it every 1 ms slowed the measured
/// tools down visibly.
pub const PSS_EVERY: usize = 10;

/// Runs `cmd` to completion, sampling its process tree every [`SAMPLE_EVERY`].
pub fn measure(cmd: &mut Command) -> Measured {
    let t0 = Instant::now();
    let mut child = ProcGuard::spawn(cmd);
    let root = child.pid();
    let (mut hwm, mut pss) = (0, 0);
    let mut pids = Vec::new();
    let mut n = 0;
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        pids.clear();
        tree(root, &mut pids);
        for &p in &pids {
            hwm = hwm.max(status_kib(p, "VmHWM:"));
        }
        if n % PSS_EVERY == 0 {
            pss = pss.max(pids.iter().map(|&p| rollup_kib(p, "Pss:")).sum());
        }
        n += 1;
        std::thread::sleep(SAMPLE_EVERY);
    };
    Measured {
        wall: t0.elapsed(),
        peak_rss_kib: hwm,
        peak_tree_pss_kib: pss,
        status,
    }
}

/// A loopback HTTP server answering every request `200 ok` (Connection: close), on a
/// thread of its own for the life of the bench. Returns its URL.
pub fn http_ok_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    url
}

/// KiB as MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
