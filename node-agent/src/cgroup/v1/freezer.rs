//! v1 `freezer`: stop and resume every task of a cgroup at once.

use std::path::Path;

use crate::cgroup::file;
use crate::error::FaultError;

/// A v1 freezer state (`freezer.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Running.
    Thawed,
    /// Being frozen: some tasks have not stopped yet.
    Freezing,
    /// Every task is stopped.
    Frozen,
}

/// Reads `freezer.state`.
pub fn state(dir: &Path) -> Result<State, FaultError> {
    let path = dir.join("freezer.state");
    match file::read(&path)?.trim() {
        "THAWED" => Ok(State::Thawed),
        "FREEZING" => Ok(State::Freezing),
        "FROZEN" => Ok(State::Frozen),
        other => Err(FaultError::Io {
            action: "parse freezer state from",
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unknown state `{other}`"),
            ),
        }),
    }
}

/// Asks the kernel to freeze the cgroup; poll [`state`] for [`State::Frozen`].
pub fn freeze(dir: &Path) -> Result<(), FaultError> {
    file::write(&dir.join("freezer.state"), "FROZEN")
}

/// Resumes the cgroup's tasks.
pub fn thaw(dir: &Path) -> Result<(), FaultError> {
    file::write(&dir.join("freezer.state"), "THAWED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        let d = tempfile::tempdir().unwrap();
        freeze(d.path()).unwrap();
        assert_eq!(state(d.path()).unwrap(), State::Frozen);
        thaw(d.path()).unwrap();
        assert_eq!(state(d.path()).unwrap(), State::Thawed);
        std::fs::write(d.path().join("freezer.state"), "MELTED\n").unwrap();
        assert!(
            state(d.path())
                .unwrap_err()
                .to_string()
                .contains("freezer.state")
        );
    }
}
