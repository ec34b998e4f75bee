//! v2 freezer: `cgroup.freeze` (core, no controller to enable), `frozen` in `cgroup.events`.

use std::path::Path;

use crate::cgroup::file;
use crate::error::FaultError;

/// Asks the kernel to freeze the cgroup; poll [`is_frozen`] for completion.
pub fn freeze(dir: &Path) -> Result<(), FaultError> {
    file::write(&dir.join("cgroup.freeze"), "1")
}

/// Resumes the cgroup's tasks.
pub fn thaw(dir: &Path) -> Result<(), FaultError> {
    file::write(&dir.join("cgroup.freeze"), "0")
}

/// True once every task is frozen (`frozen 1` in `cgroup.events`).
pub fn is_frozen(dir: &Path) -> Result<bool, FaultError> {
    Ok(file::read_keyed(&dir.join("cgroup.events"), "frozen")? == Some(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_frozen() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        freeze(d.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("cgroup.freeze")).unwrap(),
            "1"
        );
        assert!(is_frozen(d.path()).unwrap());
        thaw(d.path()).unwrap();
        std::fs::write(d.path().join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        assert!(!is_frozen(d.path()).unwrap());
    }
}
