//! v2 `cpu`: CPU time used. `cpu.stat`'s `usage_usec` exists in every v2 cgroup, even
//! where the cpu controller is not enabled (it comes from the core's rstat).

use std::path::Path;

use crate::cgroup::file;
use crate::error::FaultError;

/// Total CPU time consumed, in nanoseconds (`usage_usec` of `cpu.stat`, times 1000).
pub fn usage_ns(dir: &Path) -> Result<u64, FaultError> {
    let path = dir.join("cpu.stat");
    file::read_keyed(&path, "usage_usec")?
        .map(|us| us.saturating_mul(1000))
        .ok_or_else(|| FaultError::Io {
            action: "find usage_usec in",
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no usage_usec line"),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_usage_usec() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("cpu.stat"),
            "usage_usec 2500\nuser_usec 2000\n",
        )
        .unwrap();
        assert_eq!(super::usage_ns(d.path()).unwrap(), 2_500_000);
        std::fs::write(d.path().join("cpu.stat"), "user_usec 2000\n").unwrap();
        assert!(super::usage_ns(d.path()).is_err());
    }
}
