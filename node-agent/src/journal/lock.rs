//! The state dir's lock: one agent (or `faultline run`) journals into a dir at a time.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::{JournalError, io};

/// The lock file's name inside the state dir.
pub const LOCK_FILE: &str = "lock";

/// Takes the dir's flock without blocking and writes our pid into the lock file so the
/// next one to try can say who holds it.
pub(super) fn lock_dir(dir: &Path) -> Result<nix::fcntl::Flock<File>, JournalError> {
    use nix::fcntl::{Flock, FlockArg};
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("open lock file", &path))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => {
            // Written in place at a fixed width: truncating first cost an ftruncate, a
            // metadata change in the filesystem's journal, at every `faultline run` (up to
            // 3 ms on a busy disk, P7). Readers trim the padding.
            let text = format!("pid {:<10}\n", std::process::id());
            let f: &File = &lock;
            f.write_all_at(text.as_bytes(), 0)
                .map_err(io("write pid to", &path))?;
            let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
            if f.metadata().map_err(io("stat", &path))?.len() != len {
                f.set_len(len).map_err(io("truncate lock file", &path))?;
            }
            Ok(lock)
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".into());
            Err(JournalError::Locked {
                dir: dir.to_path_buf(),
                holder,
            })
        }
        Err((_, errno)) => Err(JournalError::Io {
            action: "flock",
            path,
            source: std::io::Error::from_raw_os_error(errno as i32),
        }),
    }
}
