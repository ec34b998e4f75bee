//! v1 `cpuacct`: CPU time used by a cgroup and its descendants.

use std::path::Path;

use crate::cgroup::file;
use crate::error::FaultError;

/// Total CPU time consumed, in nanoseconds (`cpuacct.usage`).
pub fn usage_ns(dir: &Path) -> Result<u64, FaultError> {
    file::read_u64(&dir.join("cpuacct.usage"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_usage() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cpuacct.usage"), "1500000000\n").unwrap();
        assert_eq!(super::usage_ns(d.path()).unwrap(), 1_500_000_000);
    }
}
