//! Doing file work (statvfs, fallocate, unlink, stat) inside a target's mount namespace,
//! so a path means what it means to the target: its volume at `/data`, not the node's
//! `/data`, and a symlink in it resolves inside the target's root, never to the node's.
//!
//! The kernel refuses `setns(CLONE_NEWNS)` to a thread that shares its filesystem
//! attributes (root, cwd) with others, which every thread of a process does. So each job
//! runs on a fresh std thread that first `unshare(CLONE_FS)`s (its own root and cwd), then
//! enters the namespace (which moves its root and cwd to the namespace's root), runs, and
//! ends. No thread of the agent is ever moved: a tokio worker left in a target's namespace
//! would silently act there later.

use std::io;
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns, unshare};

use crate::error::FaultError;
use crate::target::MntnsId;

/// `/proc/PID/ns/mnt` of the first of `pids` (the target's live processes) whose
/// namespace can be read, with its identity; none is `TargetNotFound`.
pub fn of_pids(
    pids: impl IntoIterator<Item = u32>,
    target: &str,
) -> Result<(PathBuf, MntnsId), FaultError> {
    for pid in pids {
        let path = PathBuf::from(format!("/proc/{pid}/ns/mnt"));
        if let Ok(id) = id(&path) {
            return Ok((path, id));
        }
    }
    Err(FaultError::TargetNotFound(format!(
        "{target} (no live process whose mount namespace could be entered)"
    )))
}

/// The identity of the mount namespace at `path`; a missing file is `TargetNotFound`.
pub fn id(path: &Path) -> Result<MntnsId, FaultError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => {
            FaultError::TargetNotFound(format!("mount namespace {}", path.display()))
        }
        _ => FaultError::Io {
            action: "stat mount namespace",
            path: path.to_path_buf(),
            source,
        },
    })?;
    Ok(MntnsId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// A path that reaches mount namespace `id` now: `path` if it still leads there, else the
/// `/proc/PID/ns/mnt` of any process in it (a container's first process may have died
/// while others hold its namespace). `TargetNotFound` when no process holds it any more.
pub fn locate(path: &Path, id: MntnsId) -> Result<PathBuf, FaultError> {
    if self::id(path).ok() == Some(id) {
        return Ok(path.to_path_buf());
    }
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| e.path().join("ns/mnt"))
        .find(|p| self::id(p).ok() == Some(id))
        .ok_or_else(|| {
            FaultError::TargetNotFound(format!(
                "mount namespace {} (no process holds it any more)",
                path.display()
            ))
        })
}

/// Runs `f` inside the mount namespace at `ns` on a fresh thread (see the module doc) and
/// returns its result. Blocks the caller until `f` returns: meant for short file work.
pub fn run_in<T, F>(ns: &Path, f: F) -> Result<T, FaultError>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let file = std::fs::File::open(ns).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => {
            FaultError::TargetNotFound(format!("mount namespace {}", ns.display()))
        }
        _ => FaultError::Io {
            action: "open mount namespace",
            path: ns.to_path_buf(),
            source,
        },
    })?;
    let enter = |step: &'static str, r: nix::Result<()>| {
        r.map_err(|e| FaultError::Io {
            action: step,
            path: ns.to_path_buf(),
            source: io::Error::from(e),
        })
    };
    std::thread::scope(|s| {
        let job = std::thread::Builder::new()
            .name("faultline-mntns".into())
            .spawn_scoped(s, move || {
                enter(
                    "unshare the filesystem attributes to enter",
                    unshare(CloneFlags::CLONE_FS),
                )?;
                enter(
                    "enter mount namespace",
                    setns(&file, CloneFlags::CLONE_NEWNS),
                )?;
                Ok(f())
            })
            .map_err(|source| FaultError::Io {
                action: "start a thread to enter mount namespace",
                path: ns.to_path_buf(),
                source,
            })?;
        job.join().unwrap_or_else(|_| {
            Err(FaultError::Io {
                action: "finish work in mount namespace",
                path: ns.to_path_buf(),
                source: io::Error::other("the job panicked"),
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_the_namespace_and_leave_the_agent_where_it_was() {
        let own = id(Path::new("/proc/self/ns/mnt")).unwrap();
        let ns = locate(Path::new("/proc/self/ns/mnt"), own).unwrap();
        let seen = run_in(&ns, || id(Path::new("/proc/thread-self/ns/mnt")).unwrap()).unwrap();
        assert_eq!(seen, own);
        assert_eq!(id(Path::new("/proc/self/ns/mnt")).unwrap(), own);
        let gone = MntnsId { dev: 0, ino: 1 };
        assert!(matches!(
            locate(Path::new("/proc/self/ns/mnt"), gone),
            Err(FaultError::TargetNotFound(_))
        ));
    }
}
