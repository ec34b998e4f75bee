//! v2 `memory`: usage, limit and OOM kills.

use std::path::Path;

use crate::cgroup::file;
use crate::error::FaultError;

/// Current usage in bytes (`memory.current`).
pub fn current(dir: &Path) -> Result<u64, FaultError> {
    file::read_u64(&dir.join("memory.current"))
}

/// Sets the hard limit (`memory.max`); `None` removes it (`max`).
pub fn set_max(dir: &Path, bytes: Option<u64>) -> Result<(), FaultError> {
    file::write(
        &dir.join("memory.max"),
        &bytes.map_or_else(|| "max".to_string(), |b| b.to_string()),
    )
}

/// OOM kills in this cgroup and its descendants (`oom_kill` in `memory.events`).
pub fn oom_kills(dir: &Path) -> Result<u64, FaultError> {
    Ok(file::read_keyed(&dir.join("memory.events"), "oom_kill")?.unwrap_or(0))
}

/// Times usage hit `memory.max` (`max` in `memory.events`), the v2 `failcnt`.
pub fn max_events(dir: &Path) -> Result<u64, FaultError> {
    Ok(file::read_keyed(&dir.join("memory.events"), "max")?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_and_writes_max() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("memory.current"), "8192\n").unwrap();
        std::fs::write(
            d.path().join("memory.events"),
            "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n",
        )
        .unwrap();
        assert_eq!(current(d.path()).unwrap(), 8192);
        assert_eq!(oom_kills(d.path()).unwrap(), 1);
        assert_eq!(max_events(d.path()).unwrap(), 9);
        set_max(d.path(), Some(4096)).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("memory.max")).unwrap(),
            "4096"
        );
        set_max(d.path(), None).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("memory.max")).unwrap(),
            "max"
        );
    }
}
