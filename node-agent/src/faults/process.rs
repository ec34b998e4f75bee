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
                // `settle` waits for the freeze to take effect, once for the whole request.
                Freezer::find(rec)?.set(true)
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

    /// A SIGSTOPped process shows as stopped once the kernel delivered the signal, a
    /// cgroup as frozen once every task in it is; when the request returns, every pause
    /// is in effect. A cgroup that does not freeze in time fails the request.
    async fn settle(&self, recs: &[FaultRecord]) -> Result<(), (usize, FaultError)> {
        let by = |method: PauseMethod| move |r: &&FaultRecord| matches!(&r.kind, FaultKind::ProcessPause(p) if p.method == method);
        let signalled: Vec<ProcRef> = recs
            .iter()
            .filter(by(PauseMethod::Signal))
            .flat_map(live)
            .collect();
        wait_stopped(&signalled).await;
        let mut freezing = Vec::new();
        for (i, rec) in recs.iter().enumerate() {
            if by(PauseMethod::Freezer)(&rec) {
                freezing.push((i, Freezer::find(rec).map_err(|e| (i, e))?));
            }
        }
        wait_frozen(freezing, FREEZE_TIMEOUT).await
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
}

/// Waits until the kernel reports every cgroup in `freezing` frozen (v1 passes through
/// FREEZING), checking them all together; the first one still not frozen after `timeout`
/// is the error, with its index.
async fn wait_frozen(
    mut freezing: Vec<(usize, Freezer)>,
    timeout: Duration,
) -> Result<(), (usize, FaultError)> {
    let started = Instant::now();
    loop {
        let mut still = Vec::new();
        for (i, fz) in freezing {
            if !fz.is_frozen().map_err(|e| (i, e))? {
                still.push((i, fz));
            }
        }
        freezing = still;
        let Some((i, fz)) = freezing.first() else {
            return Ok(());
        };
        if started.elapsed() > timeout {
            return Err((
                *i,
                FaultError::FreezeTimeout {
                    path: fz.dir.clone(),
                    waited: timeout,
                },
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1-style freezer file the test controls (the kernel's states are
    /// THAWED/FREEZING/FROZEN), so "never finishes freezing" can be produced on purpose.
    fn fake_v1(dir: &Path, state: &str) -> Freezer {
        let file = dir.join("freezer.state");
        std::fs::write(&file, state).unwrap();
        Freezer {
            dir: dir.to_path_buf(),
            file,
            v2: false,
        }
    }

    #[tokio::test]
    async fn waiting_for_freezes_names_the_cgroup_that_never_froze() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(i.to_string())).collect();
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        let freezing = vec![
            (0, fake_v1(&dirs[0], "FROZEN")),
            (1, fake_v1(&dirs[1], "FREEZING")),
            (2, fake_v1(&dirs[2], "FROZEN")),
        ];
        let (i, e) = wait_frozen(freezing, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(i, 1);
        assert!(
            matches!(&e, FaultError::FreezeTimeout { path, .. } if path == &dirs[1]),
            "{e:?}"
        );

        // Every cgroup frozen, one only after a while: the wait returns once it is.
        let late = fake_v1(&dirs[1], "FREEZING");
        let file = late.file.clone();
        let freezing = vec![(0, fake_v1(&dirs[0], "FROZEN")), (1, late)];
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            std::fs::write(file, "FROZEN").unwrap();
        });
        wait_frozen(freezing, Duration::from_secs(5)).await.unwrap();
        writer.await.unwrap();
    }
}
