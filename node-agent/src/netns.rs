//! Doing things inside a network namespace given by path (`/run/netns/NAME` or
//! `/proc/PID/ns/net`) without moving the agent's own threads.
//!
//! The kernel binds a netlink socket to the network namespace of the thread that created
//! it, for the socket's whole life. So a netlink connection into a netns is made on a
//! short-lived std thread that first `setns(CLONE_NEWNET)`s; the socket is then driven
//! from tokio on any worker. Tokio worker threads are never moved: a task that later ran
//! on a moved worker would silently act in the wrong namespace.
//!
//! Child processes (`nft`) enter the namespace between fork and exec (`pre_exec`), which
//! works for any netns path, not only the names `ip netns exec` knows. That `pre_exec` is
//! the one `unsafe` block here.
#![allow(unsafe_code)] // pre_exec for setns in a child, see `command_in`

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sched::{CloneFlags, setns};

use crate::error::FaultError;

/// Opens a netns file. A missing file means the namespace (or the process holding it) is
/// gone: that is [`FaultError::TargetNotFound`], so callers can tell it from other errors.
pub fn open(path: &Path) -> Result<File, FaultError> {
    File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => {
            FaultError::TargetNotFound(format!("network namespace {}", path.display()))
        }
        _ => FaultError::Io {
            action: "open network namespace",
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Runs `f` on a fresh std thread that has entered the netns at `path`, and returns its
/// result. The thread ends with `f`; nothing else ever runs in it.
pub fn run_in<T, F>(path: &Path, f: F) -> Result<T, FaultError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = open(path)?;
    let owned: PathBuf = path.to_path_buf();
    std::thread::Builder::new()
        .name("faultline-netns".into())
        .spawn(move || {
            setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|e| FaultError::Io {
                action: "enter network namespace",
                path: owned,
                source: io::Error::from(e),
            })?;
            Ok(f())
        })
        .map_err(|source| FaultError::Io {
            action: "spawn a thread to enter network namespace",
            path: path.to_path_buf(),
            source,
        })?
        .join()
        .map_err(|_| FaultError::Io {
            action: "run a task in network namespace (thread panicked)",
            path: path.to_path_buf(),
            source: io::Error::other("thread panicked"),
        })?
}

/// A `Command` for `program` that enters the netns at `path` before it execs. The netns
/// file is opened now, so a missing namespace fails here, not in the child.
pub fn command_in(path: &Path, program: &str) -> Result<Command, FaultError> {
    let ns = open(path)?;
    let mut cmd = Command::new(program);
    // SAFETY: the closure runs in the forked child before exec. It only calls setns(2), a
    // single async-signal-safe syscall, on a file descriptor opened before the fork (moved
    // into the closure, so it stays open until then); it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_namespace_is_target_not_found() {
        let e = open(Path::new("/run/netns/fltest-does-not-exist-at-all")).unwrap_err();
        assert!(matches!(e, FaultError::TargetNotFound(_)), "{e}");
        assert!(command_in(Path::new("/proc/999999999/ns/net"), "true").is_err());
    }

    #[test]
    fn run_in_own_namespace_sees_the_same_inode() {
        use std::os::unix::fs::MetadataExt;
        let mine = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
        let seen = run_in(Path::new("/proc/self/ns/net"), || {
            std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
        })
        .unwrap();
        assert_eq!(mine, seen);
    }
}
