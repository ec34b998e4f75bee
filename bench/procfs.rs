//! Memory figures of a process from `/proc`, shared by both crates' RSS benches.
//!
//! Included by path (`#[path = "../../bench/procfs.rs"]`).
#![allow(dead_code)] // each bench uses a part

/// A `kB` field (`VmRSS:`, `Pss:`) of `/proc/PID/FILE`, 0 when the process is gone.
fn kib(pid: u32, file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`, `RssAnon:`), 0 when gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    kib(pid, "status", field)
}

/// A `kB` field of `/proc/PID/smaps_rollup` (`Pss:`), 0 when gone.
pub fn rollup_kib(pid: u32, field: &str) -> u64 {
    kib(pid, "smaps_rollup", field)
}
