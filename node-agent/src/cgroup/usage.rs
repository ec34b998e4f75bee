//! Controller readings over a target's cgroup dirs, whichever version carries them: the
//! v1 hierarchy bound to the controller first, else the v2 dir.

use crate::cgroup::{v1, v2};
use crate::error::FaultError;
use crate::target::CgroupDir;

fn v1_dir<'a>(dirs: &'a [CgroupDir], controller: &str) -> Option<&'a CgroupDir> {
    dirs.iter()
        .find(|d| !d.v2 && d.controllers.iter().any(|c| c == controller))
}

fn v2_dir<'a>(dirs: &'a [CgroupDir], controller: &str) -> Option<&'a CgroupDir> {
    dirs.iter()
        .find(|d| d.v2 && d.controllers.iter().any(|c| c == controller))
}

/// CPU time used by the cgroup, in ns: v1 `cpuacct.usage`, else v2 `cpu.stat` (present in
/// every v2 cgroup); `None` if the target has neither.
pub fn cpu_ns(dirs: &[CgroupDir]) -> Result<Option<u64>, FaultError> {
    if let Some(d) = v1_dir(dirs, "cpuacct") {
        return v1::cpuacct::usage_ns(&d.path).map(Some);
    }
    match dirs.iter().find(|d| d.v2) {
        Some(d) => v2::cpu::usage_ns(&d.path).map(Some),
        None => Ok(None),
    }
}

/// The CPUs the cgroup's own quota allows (v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`,
/// v2 `cpu.max`), or `None` without a quota. A container with a CPU limit cannot go past
/// it, so a stress inside it is measured against the limit, not the asked load.
pub fn cpu_quota(dirs: &[CgroupDir]) -> Option<f64> {
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
    if let Some(d) = v1_dir(dirs, "cpu") {
        let quota: i64 = read(d.path.join("cpu.cfs_quota_us"))?.trim().parse().ok()?;
        let period: i64 = read(d.path.join("cpu.cfs_period_us"))?
            .trim()
            .parse()
            .ok()?;
        return (quota > 0 && period > 0).then(|| quota as f64 / period as f64);
    }
    let d = dirs.iter().find(|d| d.v2)?;
    let max = read(d.path.join("cpu.max"))?;
    let mut f = max.split_whitespace();
    let quota: f64 = f.next()?.parse().ok()?; // `max`: no quota, parse fails
    let period: f64 = f.next()?.parse().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// The whole host's idle CPU time in ns (`idle` + `iowait` of `/proc/stat`'s `cpu` line),
/// to tell a stress that cannot reach its load because the machine is busy (every CPU
/// taken: it runs at its share) from one held back in its own cgroup (a quota, a freeze)
/// while CPUs sat idle. `None` if `/proc/stat` is unreadable.
pub fn host_idle_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    // USER_HZ: 100 on every Linux ABI the agent builds for, but ask rather than assume.
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&h| h > 0)
        .unwrap_or(100) as u64;
    Some(idle.saturating_mul(1_000_000_000 / hz))
}

/// Memory charged to the cgroup, in bytes; `None` without a memory controller.
pub fn memory_bytes(dirs: &[CgroupDir]) -> Result<Option<u64>, FaultError> {
    if let Some(d) = v1_dir(dirs, "memory") {
        return v1::memory::usage(&d.path).map(Some);
    }
    match v2_dir(dirs, "memory") {
        Some(d) => v2::memory::current(&d.path).map(Some),
        None => Ok(None),
    }
}

/// A counter that rises when the cgroup's memory limit kills a task: v1 `oom_kill` (or
/// `failcnt` on kernels without it), v2 `memory.events` `oom_kill`; `None` without a
/// memory controller.
pub fn oom_counter(dirs: &[CgroupDir]) -> Result<Option<u64>, FaultError> {
    if let Some(d) = v1_dir(dirs, "memory") {
        return match v1::memory::oom_kills(&d.path)? {
            Some(n) => Ok(Some(n)),
            None => v1::memory::failcnt(&d.path).map(Some),
        };
    }
    match v2_dir(dirs, "memory") {
        Some(d) => v2::memory::oom_kills(&d.path).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dir(path: &std::path::Path, controllers: &[&str], v2: bool) -> CgroupDir {
        CgroupDir {
            path: path.to_path_buf(),
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            v2,
        }
    }

    #[test]
    fn prefers_v1_controllers_and_falls_back_to_v2() {
        let t = tempfile::tempdir().unwrap();
        let (a, b, u) = (
            t.path().join("cpuacct"),
            t.path().join("memory"),
            t.path().join("unified"),
        );
        for d in [&a, &b, &u] {
            fs::create_dir(d).unwrap();
        }
        fs::write(a.join("cpuacct.usage"), "100\n").unwrap();
        fs::write(b.join("memory.usage_in_bytes"), "200\n").unwrap();
        fs::write(b.join("memory.oom_control"), "oom_kill_disable 0\n").unwrap(); // old kernel
        fs::write(b.join("memory.failcnt"), "4\n").unwrap();
        fs::write(u.join("cpu.stat"), "usage_usec 3\n").unwrap();
        fs::write(u.join("memory.current"), "300\n").unwrap();
        fs::write(u.join("memory.events"), "oom_kill 5\n").unwrap();
        let hybrid = [
            dir(&a, &["cpuacct"], false),
            dir(&b, &["memory"], false),
            dir(&u, &[], true),
        ];
        assert_eq!(cpu_ns(&hybrid).unwrap(), Some(100));
        assert_eq!(memory_bytes(&hybrid).unwrap(), Some(200));
        assert_eq!(oom_counter(&hybrid).unwrap(), Some(4));
        let pure_v2 = [dir(&u, &["cpu", "memory"], true)];
        assert_eq!(cpu_ns(&pure_v2).unwrap(), Some(3000));
        assert_eq!(memory_bytes(&pure_v2).unwrap(), Some(300));
        assert_eq!(oom_counter(&pure_v2).unwrap(), Some(5));
        let no_memory = [dir(&u, &["cpu"], true)];
        assert_eq!(memory_bytes(&no_memory).unwrap(), None);
        assert_eq!(oom_counter(&no_memory).unwrap(), None);
        assert_eq!(cpu_ns(&[]).unwrap(), None);
    }
}
