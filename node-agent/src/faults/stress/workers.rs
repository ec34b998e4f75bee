//! Spawning, placing, finding and killing stress workers.
//!
//! Recovery needs no memory of what apply did: workers are found by scanning `/proc` for
//! the marker argv and the fault id, so a restarted agent (or `faultline recover`) finds
//! what an earlier one left. Workers spawned by this process are also watched by a task
//! that reaps them and reports deaths nobody asked for as [`StressEvent`]s.

use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use super::events::{StressEvent, emit};
use super::worker::{Job, MARKER};
use crate::cgroup::{procs, usage};
use crate::error::FaultError;
use crate::faults::record::FaultId;
use crate::resolve::Host;
use crate::target::{CgroupDir, ProcRef};

/// How long recovery waits for killed workers to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How long a spawned worker may take to reach `main`.
const READY_WAIT: Duration = Duration::from_secs(10);

static WORKER_EXE: OnceLock<PathBuf> = OnceLock::new();

/// PIDs of our own workers that recovery is killing: their watcher stays quiet.
static KILLING: LazyLock<Mutex<HashSet<u32>>> = LazyLock::new(Mutex::default);

/// Uses `exe` for workers instead of the current executable. For test harnesses and
/// benchmarks, whose own `main` cannot run a worker: they point it at the
/// `faultline-agent` binary. The first call wins.
pub fn set_worker_exe(exe: impl Into<PathBuf>) {
    let _ = WORKER_EXE.set(exe.into());
}

/// The executable to re-exec: the current one, or `/proc/self/exe` when the file was
/// replaced on disk (an upgrade while the agent runs) and the path no longer exists.
fn worker_exe() -> PathBuf {
    if let Some(p) = WORKER_EXE.get() {
        return p.clone();
    }
    std::env::current_exe()
        .ok()
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"))
}

fn lock_killing() -> std::sync::MutexGuard<'static, HashSet<u32>> {
    // A panic while holding this lock leaves a valid set; keep using it.
    KILLING.lock().unwrap_or_else(|e| e.into_inner())
}

/// True if `pid`'s argv marks it a worker of fault `id`.
fn is_worker(host: &Host, pid: u32, id: &FaultId) -> bool {
    let argv = host.cmdline(pid);
    argv.get(1).is_some_and(|a| a == MARKER) && argv.get(2).is_some_and(|a| a == id.as_str())
}

/// The live workers of fault `id` on this machine, found in `/proc`.
pub fn find(id: &FaultId) -> Vec<ProcRef> {
    let host = Host::system();
    host.pids()
        .into_iter()
        .filter(|&p| is_worker(&host, p, id))
        .filter_map(|p| host.proc_ref(p))
        .collect()
}

/// Spawns one worker per job, moves each into every dir of `cgroups`, gives it
/// `oom_score_adj` if set, and only then lets them start. All or nothing: on any error the
/// workers already spawned are killed.
pub async fn start(
    id: &FaultId,
    jobs: &[Job],
    cgroups: &[CgroupDir],
    oom_score_adj: Option<i32>,
) -> Result<(), FaultError> {
    // Read before any worker runs, so a later rise means one of ours was OOM-killed.
    let oom_before = usage::oom_counter(cgroups).ok().flatten();
    let mut children = Vec::with_capacity(jobs.len());
    for job in jobs {
        match spawn_placed(id, job, cgroups, oom_score_adj).await {
            Ok(c) => children.push(c),
            Err(e) => {
                abort(children).await;
                return Err(e);
            }
        }
    }
    for i in 0..children.len() {
        if let Err(e) = go(&mut children[i]).await {
            abort(children).await;
            return Err(e);
        }
    }
    for child in children {
        watch(id.clone(), child, cgroups.to_vec(), oom_before);
    }
    Ok(())
}

/// Spawns a worker, waits until it runs (its ready byte), writes its PID into every
/// cgroup and its `oom_score_adj`; it then blocks on stdin until [`go`].
async fn spawn_placed(
    id: &FaultId,
    job: &Job,
    cgroups: &[CgroupDir],
    oom_score_adj: Option<i32>,
) -> Result<Child, FaultError> {
    let exe = worker_exe();
    let mut cmd = Command::new(&exe);
    if matches!(job, Job::Memory { .. }) {
        // glibc then maps every buffer of 128 KiB or more on its own and unmaps it when
        // freed, so a memory worker's hang cycle really gives its pages back (the default
        // threshold grows to 32 MiB and keeps freed buffers in the heap).
        cmd.env("MALLOC_MMAP_THRESHOLD_", "131072");
    }
    let mut child = cmd
        .args(job.argv(id.as_str()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| FaultError::Io {
            action: "spawn a stress worker from",
            path: exe.clone(),
            source,
        })?;
    let placed = match (ready(&mut child).await, child.id()) {
        (Ok(()), Some(pid)) => cgroups
            .iter()
            .try_for_each(|d| procs::add(&d.path, pid))
            .and_then(|()| oom_score_adj.map_or(Ok(()), |adj| set_oom_score_adj(pid, adj))),
        (Err(source), _) => Err(FaultError::Io {
            action: "wait for the stress worker to start from",
            path: exe,
            source,
        }),
        (Ok(()), None) => Err(FaultError::Io {
            action: "keep running a stress worker from",
            path: exe,
            source: std::io::Error::other("it exited before it was placed"),
        }),
    };
    match placed {
        Ok(()) => Ok(child),
        Err(e) => {
            abort(vec![child]).await;
            Err(e)
        }
    }
}

/// Writes the worker's own `/proc/PID/oom_score_adj`. The agent's stays as it was: the
/// worker is a process of its own, and the value is set on it alone. Raising it is always
/// allowed; lowering it below the floor inherited from the agent needs CAP_SYS_RESOURCE
/// (a privileged agent has it; a container that drops it gets EACCES, said plainly).
fn set_oom_score_adj(pid: u32, adj: i32) -> Result<(), FaultError> {
    let path = PathBuf::from(format!("/proc/{pid}/oom_score_adj"));
    std::fs::write(&path, adj.to_string()).map_err(|source| {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            let own = std::fs::read_to_string("/proc/self/oom_score_adj")
                .map_or_else(|_| "unknown".into(), |s| s.trim().to_string());
            FaultError::OomScoreNeedsCapability { adj, own }
        } else {
            FaultError::Io {
                action: "set the stress worker's OOM score in",
                path,
                source,
            }
        }
    })
}

/// Waits for the worker's ready byte (it is running our `main`, exec is over).
async fn ready(child: &mut Child) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
    let mut b = [0u8; 1];
    match tokio::time::timeout(READY_WAIT, out.read(&mut b)).await {
        Ok(Ok(1)) => Ok(()),
        Ok(Ok(_)) => Err(std::io::Error::other(
            "it exited before it was ready (is this binary calling run_stress_worker_if_requested?)",
        )),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("not ready within {READY_WAIT:?}"),
        )),
    }
}

/// Sends the start byte and closes the worker's stdin.
async fn go(child: &mut Child) -> Result<(), FaultError> {
    let pid = child.id().unwrap_or(0);
    let io = |source| FaultError::Io {
        action: "start stress worker",
        path: PathBuf::from(format!("/proc/{pid}")),
        source,
    };
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| io(std::io::Error::other("stdin already taken")))?;
    stdin.write_all(&[1]).await.map_err(io)?;
    Ok(())
}

/// Kills and reaps workers that never became part of an applied fault.
async fn abort(children: Vec<Child>) {
    for mut c in children {
        // Already-exited workers fail start_kill; wait() reaps either way.
        let _ = c.start_kill();
        let _ = c.wait().await;
    }
}

/// Reaps `child` when it ends, and reports the end unless recovery caused it.
fn watch(fault: FaultId, mut child: Child, cgroups: Vec<CgroupDir>, oom_before: Option<u64>) {
    let pid = child.id().unwrap_or(0);
    tokio::spawn(async move {
        let status = child.wait().await;
        if lock_killing().remove(&pid) {
            return;
        }
        let oom_now = usage::oom_counter(&cgroups).ok().flatten();
        let killed = status.as_ref().ok().and_then(|s| s.signal()) == Some(Signal::SIGKILL as i32);
        let ev = match (oom_before, oom_now) {
            (Some(b), Some(n)) if killed && n > b => {
                let cgroup = cgroups
                    .iter()
                    .find(|d| d.controllers.iter().any(|c| c == "memory"))
                    .map(|d| d.path.display().to_string())
                    .unwrap_or_default();
                StressEvent::OomKilled { fault, pid, cgroup }
            }
            _ => StressEvent::WorkerExited {
                fault,
                pid,
                status: status.map_or_else(|e| format!("unknown ({e})"), |s| s.to_string()),
            },
        };
        emit(ev);
    });
}

/// SIGKILLs the workers `procs` of fault `id` and waits until they are gone. A worker is
/// known by PID and start time: an exiting one has an empty argv already, and a PID may
/// be reused. A zombie that is not our child counts as gone (its parent reaps it); our
/// own are reaped by their watcher task, and if none runs (its runtime ended) a zombie
/// is dead all the same once the wait is over. A worker in a frozen cgroup (a pause of
/// the same target) counts as killed: it cannot run again, and it dies with the SIGKILL
/// it holds when the pause is undone, so the stress is over either way.
pub async fn kill_and_wait(id: &FaultId, procs: &[ProcRef]) -> Result<(), FaultError> {
    let host = Host::system();
    let me = std::process::id();
    for p in procs {
        if host
            .stat(p.pid)
            .is_some_and(|s| s.ppid == me && s.start_time == p.start_time)
        {
            lock_killing().insert(p.pid);
        }
        // Gone already (ESRCH) is what we want.
        let _ = kill(Pid::from_raw(p.pid as i32), Signal::SIGKILL);
    }
    let deadline = Instant::now() + KILL_WAIT;
    loop {
        // (pid, is a zombie) of those still there
        let left: Vec<(u32, bool)> = procs
            .iter()
            .filter_map(|p| match host.stat(p.pid) {
                Some(s) if s.start_time == p.start_time => {
                    let zombie = s.state == 'Z';
                    (!zombie || s.ppid == me).then_some((p.pid, zombie))
                }
                _ => None,
            })
            .filter(|(pid, zombie)| *zombie || !in_frozen_cgroup(&host, *pid))
            .collect();
        if left.is_empty() || (Instant::now() > deadline && left.iter().all(|(_, zombie)| *zombie))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(FaultError::StillPresent {
                what: format!(
                    "stress workers {:?} of fault {id}",
                    left.iter().map(|(p, _)| p).collect::<Vec<_>>()
                ),
                waited_ms: KILL_WAIT.as_millis() as u64,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// True if `pid` sits in a frozen (or freezing) cgroup, v1 freezer or v2.
fn in_frozen_cgroup(host: &Host, pid: u32) -> bool {
    use crate::cgroup::{v1, v2};
    let Ok(r) = host.resolve(&faultline_spec::LocalTarget::Pid(pid)) else {
        return false;
    };
    r.cgroups.iter().any(|d| {
        if d.v2 {
            v2::freezer::is_frozen(&d.path).unwrap_or(false)
        } else if d.controllers.iter().any(|c| c == "freezer") {
            matches!(
                v1::freezer::state(&d.path),
                Ok(v1::freezer::State::Frozen | v1::freezer::State::Freezing)
            )
        } else {
            false
        }
    })
}
