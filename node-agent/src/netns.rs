//! Doing things inside a network namespace given by path (`/run/netns/NAME` or
//! `/proc/PID/ns/net`) without moving the agent's own threads.
//!
//! The kernel binds a socket to the network namespace of the thread that created it, for
//! the socket's whole life. So a netlink connection into a netns is made on a dedicated
//! std thread that first `setns(CLONE_NEWNET)`s; the socket is then driven from tokio on
//! any worker. Tokio worker threads are never moved: a task that later ran
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

/// A job for the netns worker: enter the namespace, run, send the result back.
type Job = Box<dyn FnOnce() + Send>;

/// One long-lived std thread that does nothing but enter namespaces and run short jobs in
/// them (create a socket, read a file). Reusing it spares a thread spawn per job, which is
/// most of the cost of opening a netlink socket in a netns. It never runs in the host's
/// netns again after its first job, and never runs anything but these jobs.
static WORKER: std::sync::Mutex<Option<std::sync::mpsc::Sender<Job>>> = std::sync::Mutex::new(None);

fn submit(job: Job) -> Result<(), Job> {
    let mut guard = match WORKER.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    let tx = guard.get_or_insert_with(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("faultline-netns".into())
            .spawn(move || {
                for job in rx {
                    // A panicking job must not take the worker down with it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        if spawned.is_err() {
            // No worker: the sender's receiver is gone, so `send` below fails and the
            // caller sees the error.
        }
        tx
    });
    tx.send(job).map_err(|e| {
        *guard = None;
        e.0
    })
}

/// Runs `f` inside the netns at `path` on the netns worker thread, and returns its result.
/// Blocks the caller until `f` has run (it is meant for short jobs: a socket, a bind).
pub fn run_in<T, F>(path: &Path, f: F) -> Result<T, FaultError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = open(path)?;
    let owned: PathBuf = path.to_path_buf();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let r = setns(&ns, CloneFlags::CLONE_NEWNET)
            .map_err(|e| FaultError::Io {
                action: "enter network namespace",
                path: owned,
                source: io::Error::from(e),
            })
            .map(|()| f());
        let _ = tx.send(r);
    });
    let lost = |what: &'static str| FaultError::Io {
        action: what,
        path: path.to_path_buf(),
        source: io::Error::other("netns worker thread unavailable"),
    };
    if submit(job).is_err() {
        return Err(lost("hand a job to the netns worker for"));
    }
    rx.recv()
        .map_err(|_| lost("run a job (it panicked) in network namespace"))?
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
