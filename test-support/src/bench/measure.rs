//! A command run to completion while its whole process tree's memory is sampled, as
//! `/usr/bin/time -v` would report it but for every process the command starts.

use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use super::procfs::{rollup_kib, status_kib};
use crate::process::Proc;

/// What [`measure`] saw.
pub struct Measured {
    /// From spawn to exit.
    pub wall: Duration,
    /// The largest process's peak RSS in the tree (its `VmHWM`, the kernel's own high-water
    /// mark, as `/usr/bin/time -v` reports it), KiB.
    pub peak_rss_kib: u64,
    /// Highest sampled (every [`PSS_EVERY`] samples) sum of the tree's PSS, KiB: the whole
    /// tree, with pages shared between its processes counted once (summing RSS would count
    /// a forked child's copy-on-write pages twice).
    pub peak_tree_pss_kib: u64,
    /// How it exited.
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
    let mut child = Proc::spawn(cmd);
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

/// KiB as MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Nearest-rank percentile `q` (0..=100) of `sorted` (ascending).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!((percentile(&v, 50.0), percentile(&v, 99.0)), (50.0, 99.0));
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }

    #[test]
    fn a_shell_and_its_child_are_measured() {
        let m = measure(Command::new("sh").args(["-c", "sleep 0.2; true"]));
        assert!(m.status.success());
        assert!(m.peak_rss_kib > 0 && m.wall >= Duration::from_millis(200));
    }
}
