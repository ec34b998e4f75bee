//! processKill / processPause / containerKill: signals or the cgroup freezer.
//!
//! Every signal goes only to a process whose start time still matches the one resolved at
//! apply time ([`ProcRef`]), so a PID the kernel reused for another process is never hit.
//! `containerKill` SIGKILLs the container's processes as resolved from its ID; choosing
//! containers by name within a pod is the service's job (it maps names to IDs).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Fault, FaultRecord, ProcRef, Recovered};
use crate::error::FaultError;
use crate::resolve::is_alive;
use crate::spec::FaultKind;
use crate::spec::fault::PauseMethod;

/// The process fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Process;

/// How long a freeze may take to settle before the apply gives up and thaws.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long apply waits for SIGSTOP to take effect before it returns anyway.
const STOP_TIMEOUT: Duration = Duration::from_secs(1);

impl Fault for Process {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        match &rec.kind {
            FaultKind::ProcessKill(k) => signal_some(rec, k.signal.number()),
            FaultKind::ContainerKill(_) => signal_some(rec, libc::SIGKILL),
            FaultKind::ProcessPause(p) if p.method == PauseMethod::Freezer => {
                let fz = Freezer::find(rec)?;
                fz.set(true)?;
                if let Err(e) = fz.wait_frozen().await {
                    // Do not leave a half-frozen cgroup behind a failed apply.
                    let _ = fz.set(false);
                    return Err(e);
                }
                Ok(())
            }
            FaultKind::ProcessPause(_) => {
                let mut stopped = Vec::new();
                for p in live(rec) {
                    match send(p, libc::SIGSTOP) {
                        Ok(true) => stopped.push(p),
                        Ok(false) => {}
                        Err(e) => {
                            // All or nothing: resume what this apply stopped.
                            for q in stopped {
                                let _ = send(q, libc::SIGCONT);
                            }
                            return Err(e);
                        }
                    }
                }
                if stopped.is_empty() {
                    return Err(FaultError::TargetNotFound(format!(
                        "{} (every process has exited)",
                        rec.target
                    )));
                }
                // `settle` waits for the stops to take effect, once for the whole request.
                Ok(())
            }
            other => Err(unsupported(rec, other)),
        }
    }

    /// A SIGSTOPped process shows as stopped once the kernel delivered the signal; when
    /// the request returns, every pause is in effect.
    async fn settle(&self, recs: &[FaultRecord]) {
        let signalled: Vec<ProcRef> = recs
            .iter()
            .filter(|r| {
                matches!(&r.kind, FaultKind::ProcessPause(p) if p.method == PauseMethod::Signal)
            })
            .flat_map(live)
            .collect();
        wait_stopped(&signalled).await;
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        match &rec.kind {
            // A signal cannot be taken back; there is nothing to remove.
            FaultKind::ProcessKill(_) | FaultKind::ContainerKill(_) => Ok(Recovered::AlreadyGone),
            FaultKind::ProcessPause(p) if p.method == PauseMethod::Freezer => {
                let fz = match Freezer::find(rec) {
                    Ok(fz) => fz,
                    Err(_) => {
                        return Ok(Recovered::TargetGone("the cgroup no longer exists".into()));
                    }
                };
                if !fz.file.exists() {
                    return Ok(Recovered::TargetGone(format!(
                        "{} no longer exists",
                        fz.file.display()
                    )));
                }
                fz.set(false)?;
                Ok(Recovered::Removed)
            }
            FaultKind::ProcessPause(_) => {
                let mut resumed = 0;
                for p in live(rec) {
                    if send(p, libc::SIGCONT)? {
                        resumed += 1;
                    }
                }
                if resumed == 0 {
                    return Ok(Recovered::TargetGone(format!(
                        "{}: every paused process has exited",
                        rec.target
                    )));
                }
                Ok(Recovered::Removed)
            }
            other => Err(unsupported(rec, other)),
        }
    }
}

fn unsupported(rec: &FaultRecord, kind: &FaultKind) -> FaultError {
    FaultError::Unsupported {
        kind: kind.name(),
        target: rec.target.to_string(),
        reason: "not a process fault".into(),
    }
}

/// Signals every still-live resolved process; fails if none was left to signal.
fn signal_some(rec: &FaultRecord, sig: i32) -> Result<(), FaultError> {
    let mut sent = 0;
    for p in live(rec) {
        if send(p, sig)? {
            sent += 1;
        }
    }
    if sent == 0 {
        return Err(FaultError::TargetNotFound(format!(
            "{} (every process has exited)",
            rec.target
        )));
    }
    Ok(())
}

/// The resolved processes that are still the same processes.
fn live(rec: &FaultRecord) -> impl Iterator<Item = ProcRef> + '_ {
    rec.resolved.procs.iter().copied().filter(is_alive)
}

/// Waits (briefly) until every process in `procs` shows as stopped, so that when apply
/// returns the pause is in effect. SIGSTOP cannot be blocked, so this only waits for the
/// kernel to deliver it; a process that exits meanwhile is not waited for.
async fn wait_stopped(procs: &[ProcRef]) {
    let started = Instant::now();
    for p in procs {
        while is_alive(p)
            && !matches!(state(p.pid), Some('T' | 't'))
            && started.elapsed() < STOP_TIMEOUT
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

fn state(pid: u32) -> Option<char> {
    crate::resolve::Host::system().stat(pid).map(|s| s.state)
}

/// Sends `sig` to `p`. `Ok(false)` when the process is gone.
fn send(p: ProcRef, sig: i32) -> Result<bool, FaultError> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let signal = Signal::try_from(sig).map_err(|e| FaultError::Signal {
        signal: "unknown signal",
        pid: p.pid,
        source: std::io::Error::from_raw_os_error(e as i32),
    })?;
    let Ok(raw) = i32::try_from(p.pid) else {
        return Ok(false);
    };
    // Re-check just before sending: the window for a PID reuse is now the time between
    // this read and the kill, microseconds, instead of the fault's whole lease.
    if !is_alive(&p) {
        return Ok(false);
    }
    match kill(Pid::from_raw(raw), signal) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::ESRCH) => Ok(false),
        Err(e) => Err(FaultError::Signal {
            signal: signal.as_str(),
            pid: p.pid,
            source: std::io::Error::from_raw_os_error(e as i32),
        }),
    }
}

/// A cgroup freezer control file and the values that freeze and thaw it.
struct Freezer {
    dir: PathBuf,
    file: PathBuf,
    v2: bool,
}

impl Freezer {
    /// The v1 `freezer` hierarchy's dir if the target has one, else its v2 dir.
    fn find(rec: &FaultRecord) -> Result<Freezer, FaultError> {
        let cg = &rec.resolved.cgroups;
        let dir = cg
            .iter()
            .find(|c| !c.v2 && c.controllers.iter().any(|n| n == "freezer"))
            .or_else(|| cg.iter().find(|c| c.v2))
            .ok_or_else(|| FaultError::Unsupported {
                kind: rec.kind.name(),
                target: rec.target.to_string(),
                reason: "the target is in no freezer (v1) or unified (v2) cgroup".into(),
            })?;
        let file = dir.path.join(if dir.v2 {
            "cgroup.freeze"
        } else {
            "freezer.state"
        });
        let unsupported = |reason: String| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason,
        };
        if !file.exists() {
            // The root cgroup has no freezer file: freezing it would stop the machine.
            return Err(unsupported(format!(
                "{} has no {} (a root cgroup cannot be frozen)",
                dir.path.display(),
                file.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
            )));
        }
        if holds_self(&dir.path) {
            return Err(unsupported(format!(
                "{} holds the agent itself; freezing it would freeze the agent",
                dir.path.display()
            )));
        }
        Ok(Freezer {
            dir: dir.path.clone(),
            file,
            v2: dir.v2,
        })
    }

    fn set(&self, frozen: bool) -> Result<(), FaultError> {
        let value = match (self.v2, frozen) {
            (true, true) => "1",
            (true, false) => "0",
            (false, true) => "FROZEN",
            (false, false) => "THAWED",
        };
        std::fs::write(&self.file, value).map_err(|source| FaultError::Io {
            action: if frozen {
                "write FROZEN/1 to"
            } else {
                "write THAWED/0 to"
            },
            path: self.file.clone(),
            source,
        })
    }

    fn is_frozen(&self) -> Result<bool, FaultError> {
        let path = if self.v2 {
            self.dir.join("cgroup.events")
        } else {
            self.file.clone()
        };
        let text = std::fs::read_to_string(&path).map_err(|source| FaultError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        Ok(if self.v2 {
            text.lines().any(|l| l.trim() == "frozen 1")
        } else {
            text.trim() == "FROZEN"
        })
    }

    /// Waits until the kernel reports the cgroup frozen (v1 passes through FREEZING).
    async fn wait_frozen(&self) -> Result<(), FaultError> {
        let started = Instant::now();
        while !self.is_frozen()? {
            if started.elapsed() > FREEZE_TIMEOUT {
                return Err(FaultError::FreezeTimeout {
                    path: self.dir.clone(),
                    waited: FREEZE_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

/// True if this process lives in `dir` or below it, in `dir`'s hierarchy.
fn holds_self(dir: &Path) -> bool {
    let Ok(own) = std::fs::read_to_string("/proc/self/cgroup") else {
        return false;
    };
    own.lines().any(|l| {
        let mut it = l.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (it.next(), it.next(), it.next()) else {
            return false;
        };
        let mount = if ctrl.is_empty() {
            PathBuf::from("/sys/fs/cgroup/unified")
        } else {
            PathBuf::from("/sys/fs/cgroup").join(ctrl.strip_prefix("name=").unwrap_or(ctrl))
        };
        let mine = mount.join(path.trim_start_matches('/'));
        dir.starts_with(&mount) && mine.starts_with(dir)
    })
}
