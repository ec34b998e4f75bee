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
use crate::target::NetnsId;

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

/// The identity of the namespace at `path`; a missing file is `TargetNotFound`.
pub fn id(path: &Path) -> Result<NetnsId, FaultError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => {
            FaultError::TargetNotFound(format!("network namespace {}", path.display()))
        }
        _ => FaultError::Io {
            action: "stat network namespace",
            path: path.to_path_buf(),
            source,
        },
    })?;
    Ok(NetnsId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// A path that reaches namespace `id` now: `path` if it still leads there, else a
/// `/run/netns/*` mount or the `/proc/PID/ns/net` of any process in it.
///
/// A fault resolved through a PID must outlive that PID: a Kubernetes pod's namespace
/// outlives an app container killed mid-fault (the pause container holds it), and a named
/// namespace outlives every process in it. Without this, recovery saw `/proc/PID/ns/net`
/// gone, called the target gone, and left the qdisc or nft table in place (found by the
/// reliability suite, `service/tests/reliability.rs`). A reused PID in another namespace
/// is not mistaken for it either. `TargetNotFound` when nothing holds the namespace any
/// more: then the kernel has freed it, and every qdisc and rule in it with it. `id` is
/// `None` for faults journaled before ids were recorded: `path` is all there is.
pub fn locate(path: &Path, id: Option<NetnsId>) -> Result<PathBuf, FaultError> {
    let Some(id) = id else {
        return Ok(path.to_path_buf());
    };
    if self::id(path).ok() == Some(id) {
        return Ok(path.to_path_buf());
    }
    let entries = |dir: &str| std::fs::read_dir(dir).into_iter().flatten().flatten();
    let named = entries("/run/netns").map(|e| e.path());
    let in_procs = entries("/proc")
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| e.path().join("ns/net"));
    named
        .chain(in_procs)
        .find(|p| self::id(p).ok() == Some(id))
        .ok_or_else(|| {
            FaultError::TargetNotFound(format!(
                "network namespace {} (nothing holds it any more)",
                path.display()
            ))
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
    fn a_namespace_is_found_again_after_the_process_it_was_reached_through_dies() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root to create a network namespace");
            return;
        }
        let name = format!("fltest-{}-locate", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(ok.success());
        struct Del(String);
        impl Drop for Del {
            fn drop(&mut self) {
                let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
            }
        }
        let _del = Del(name.clone());
        let mut child = Command::new("ip")
            .args(["netns", "exec", &name, "sleep", "30"])
            .spawn()
            .unwrap();
        let by_pid = PathBuf::from(format!("/proc/{}/ns/net", child.id()));
        let named = PathBuf::from(format!("/run/netns/{name}"));
        let want = id(&named).unwrap();
        // `ip netns exec` enters the namespace before it execs sleep.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while id(&by_pid).ok() != Some(want) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(locate(&by_pid, Some(want)).unwrap(), by_pid);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(locate(&by_pid, Some(want)).unwrap(), named);
        // The host's namespace is not the one asked for.
        let host = id(Path::new("/proc/self/ns/net")).unwrap();
        assert_ne!(host, want);
        drop(_del);
        assert!(matches!(
            locate(&by_pid, Some(want)),
            Err(FaultError::TargetNotFound(_))
        ));
        assert_eq!(locate(&by_pid, None).unwrap(), by_pid);
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
