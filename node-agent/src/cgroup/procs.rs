//! Membership: `cgroup.procs` is the same file with the same rules in v1 and v2.

use std::path::Path;

use crate::error::FaultError;

/// The PIDs in cgroup `dir` (its `cgroup.procs`).
pub fn read(dir: &Path) -> Result<Vec<u32>, FaultError> {
    let path = dir.join("cgroup.procs");
    let text = std::fs::read_to_string(&path).map_err(|source| FaultError::Io {
        action: "read",
        path,
        source,
    })?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Moves process `pid` (all its threads) into cgroup `dir`.
pub fn add(dir: &Path, pid: u32) -> Result<(), FaultError> {
    let path = dir.join("cgroup.procs");
    // One write(2) per PID: the kernel parses one PID per write.
    std::fs::write(&path, pid.to_string()).map_err(|source| FaultError::Io {
        action: "write pid to",
        path,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_appends_pids() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "12\n345\n\n").unwrap();
        assert_eq!(read(dir.path()).unwrap(), [12, 345]);
        add(dir.path(), 7).unwrap();
        assert_eq!(read(dir.path()).unwrap(), [7]); // a plain file is replaced; the kernel appends
        let err = read(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(
            err.contains("failed to read") && err.contains("missing/cgroup.procs"),
            "{err}"
        );
    }
}
