//! v1 `memory`: usage, limit and how often the limit was hit or OOM-killed.

use std::path::Path;

use crate::cgroup::file;
use crate::error::FaultError;

/// Current usage in bytes, page cache included (`memory.usage_in_bytes`).
pub fn usage(dir: &Path) -> Result<u64, FaultError> {
    file::read_u64(&dir.join("memory.usage_in_bytes"))
}

/// Sets the hard limit (`memory.limit_in_bytes`).
pub fn set_limit(dir: &Path, bytes: u64) -> Result<(), FaultError> {
    file::write(&dir.join("memory.limit_in_bytes"), &bytes.to_string())
}

/// How many times usage hit the limit (`memory.failcnt`).
pub fn failcnt(dir: &Path) -> Result<u64, FaultError> {
    file::read_u64(&dir.join("memory.failcnt"))
}

/// OOM kills in this cgroup (`oom_kill` in `memory.oom_control`, kernels >= 4.13); `None`
/// on older kernels, where [`failcnt`] is the closest signal.
pub fn oom_kills(dir: &Path) -> Result<Option<u64>, FaultError> {
    file::read_keyed(&dir.join("memory.oom_control"), "oom_kill")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_and_writes_the_limit() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("memory.usage_in_bytes"), "4096\n").unwrap();
        std::fs::write(d.path().join("memory.failcnt"), "3\n").unwrap();
        std::fs::write(
            d.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        assert_eq!(usage(d.path()).unwrap(), 4096);
        assert_eq!(failcnt(d.path()).unwrap(), 3);
        assert_eq!(oom_kills(d.path()).unwrap(), Some(2));
        set_limit(d.path(), 1 << 25).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("memory.limit_in_bytes")).unwrap(),
            "33554432"
        );
    }
}
