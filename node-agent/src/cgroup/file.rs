//! Reading and writing cgroup interface files, with errors that name the file.

use std::path::Path;

use crate::error::FaultError;

/// Reads a single-number file such as `cpuacct.usage` or `memory.current`.
pub fn read_u64(path: &Path) -> Result<u64, FaultError> {
    let text = read(path)?;
    text.trim().parse().map_err(|_| FaultError::Io {
        action: "parse a number from",
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("`{}` is not a number", text.trim()),
        ),
    })
}

/// The value of `key` in a flat-keyed file (`key value` per line, like `cpu.stat`,
/// `memory.events`, `memory.oom_control`); `None` when the key is absent.
pub fn read_keyed(path: &Path, key: &str) -> Result<Option<u64>, FaultError> {
    Ok(read(path)?.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    }))
}

/// Reads a whole interface file.
pub fn read(path: &Path) -> Result<String, FaultError> {
    std::fs::read_to_string(path).map_err(|source| FaultError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` to an interface file in one write(2), as the kernel expects.
pub fn write(path: &Path, value: &str) -> Result<(), FaultError> {
    std::fs::write(path, value).map_err(|source| FaultError::Io {
        action: "write to",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_keys_parse_and_errors_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("n"), "123\n").unwrap();
        std::fs::write(d.path().join("k"), "usage_usec 77\nuser_usec 5\nbad x\n").unwrap();
        std::fs::write(d.path().join("junk"), "max\n").unwrap();
        assert_eq!(read_u64(&d.path().join("n")).unwrap(), 123);
        assert_eq!(
            read_keyed(&d.path().join("k"), "usage_usec").unwrap(),
            Some(77)
        );
        assert_eq!(read_keyed(&d.path().join("k"), "user").unwrap(), None);
        assert_eq!(read_keyed(&d.path().join("k"), "bad").unwrap(), None);
        let e = read_u64(&d.path().join("junk")).unwrap_err().to_string();
        assert!(
            e.contains("parse a number from") && e.contains("junk"),
            "{e}"
        );
    }
}
