//! processKill / processPause / containerKill: signals or the cgroup freezer.
//!
//! Every signal goes only to a process whose start time still matches the one resolved at
//! apply time ([`ProcRef`]), so a PID the kernel reused for another process is never hit.
//! `containerKill` SIGKILLs the container's processes as resolved from its ID; choosing
//! containers by name within a pod is the service's job (it maps names to IDs).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::record::{FaultRecord, Recovered};
use crate::error::FaultError;
use crate::resolve::is_alive;
use crate::target::ProcRef;
use faultline_spec::NodeFault;
use faultline_spec::fault::PauseMethod;

/// The process fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Process;

/// How long a freeze may take to settle before the apply gives up and thaws.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long apply waits for SIGSTOP to take effect, or for a SIGKILLed process to exit,
/// before it returns anyway (the fact-check then says what it sees).
const STOP_TIMEOUT: Duration = Duration::from_secs(1);
/// How often [`wait_gone`] reads whether a SIGKILLed process has exited.
const EXIT_POLL: Duration = Duration::from_micros(100);

impl Fault for Process {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        match &rec.kind {
            NodeFault::ProcessKill(k) => signal_some(rec, k.signal.number()),
            NodeFault::ContainerKill(_) => signal_some(rec, libc::SIGKILL),
            NodeFault::ProcessPause(p) if p.method == PauseMethod::Freezer => {
                // `settle` waits for the freeze to take effect, once for the whole request.
                Freezer::find(rec)?.set(true)
            }
            NodeFault::ProcessPause(_) => {
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
            _ => Err(rec.unsupported("not a process fault")),
        }
    }

    /// A SIGSTOPped process shows as stopped once the kernel delivered the signal, a
    /// cgroup as frozen once every task in it is; when the request returns, every pause
    /// is in effect. A cgroup that does not freeze in time fails the request. A SIGKILLed
    /// process is waited for until it has exited: the signal is sent at once but the
    /// process dies a moment later, and a fact-check reading it in between would wait a
    /// whole read-back interval (250 ms) to see what a millisecond more would have shown.
    async fn settle(&self, recs: &[FaultRecord]) -> Result<(), (usize, FaultError)> {
        let signalled: Vec<ProcRef> = recs
            .iter()
            .filter(|r| pause_by(r, PauseMethod::Signal))
            .flat_map(live)
            .collect();
        wait_while(&signalled, |p| {
            is_alive(p) && !matches!(state(p.pid), Some('T' | 't'))
        })
        .await;
        let killed: Vec<ProcRef> = recs
            .iter()
            .filter(|r| kills(r))
            .flat_map(|r| r.resolved.procs.iter().copied())
            .collect();
        wait_gone(&killed).await;
        // Apply checked each freezer already: only which dir is needed here.
        let freezing = recs
            .iter()
            .enumerate()
            .filter(|(_, r)| pause_by(r, PauseMethod::Freezer))
            .filter_map(|(i, r)| Some((i, Freezer::of(r)?)))
            .collect();
        wait_frozen(freezing, FREEZE_TIMEOUT).await
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        match &rec.kind {
            // A signal cannot be taken back; there is nothing to remove.
            NodeFault::ProcessKill(_) | NodeFault::ContainerKill(_) => Ok(Recovered::AlreadyGone),
            NodeFault::ProcessPause(p) if p.method == PauseMethod::Freezer => {
                let fz = match Freezer::find(rec) {
                    Ok(fz) => fz,
                    Err(_) => {
                        return Ok(Recovered::TargetGone("the cgroup no longer exists".into()));
                    }
                };
                let file = fz.file();
                if !file.exists() {
                    return Ok(Recovered::TargetGone(format!(
                        "{} no longer exists",
                        file.display()
                    )));
                }
                fz.set(false)?;
                Ok(Recovered::Removed)
            }
            NodeFault::ProcessPause(_) => {
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
            _ => Err(rec.unsupported("not a process fault")),
        }
    }

    /// A kill: every process resolved at apply is gone (a PID now held by another process,
    /// by its start time, counts as gone); a signal the process catches counts as delivered.
    /// A pause: every live process stopped (`T` in `/proc/PID/stat`), or its cgroup frozen.
    async fn observe(&self, rec: &FaultRecord, _: &Baseline) -> Observation {
        match &rec.kind {
            NodeFault::ProcessKill(k) => observe_kill(rec, k.signal.number()),
            NodeFault::ContainerKill(_) => observe_kill(rec, libc::SIGKILL),
            NodeFault::ProcessPause(p) if p.method == PauseMethod::Freezer => {
                match Freezer::of(rec).map(|fz| (fz.is_frozen(), fz)) {
                    Some((Ok(true), fz)) => {
                        Observation::seen(format!("cgroup {} frozen", fz.dir.display()))
                    }
                    Some((Ok(false), fz)) => {
                        Observation::unseen(format!("cgroup {} not frozen", fz.dir.display()))
                    }
                    Some((Err(e), _)) => Observation::unseen(format!("freezer unreadable: {e}")),
                    None => Observation::unseen("the target has no freezer cgroup"),
                }
            }
            NodeFault::ProcessPause(_) => {
                let live: Vec<ProcRef> = live(rec).collect();
                if live.is_empty() {
                    return Observation::unseen("every paused process has exited");
                }
                let running: Vec<String> = live
                    .iter()
                    .filter_map(|p| match state(p.pid) {
                        Some('T' | 't') => None,
                        s => Some(format!("{} ({})", p.pid, s.unwrap_or('?'))),
                    })
                    .collect();
                if running.is_empty() {
                    Observation::seen(format!(
                        "{} process(es) stopped (state T): {}",
                        live.len(),
                        pids(&live)
                    ))
                } else {
                    Observation::unseen(format!("not stopped: {}", running.join(", ")))
                }
            }
            _ => Observation::unseen(rec.unsupported("not a process fault").to_string()),
        }
    }
}

fn pids(procs: &[ProcRef]) -> String {
    let mut s: Vec<String> = procs.iter().take(8).map(|p| p.pid.to_string()).collect();
    if procs.len() > 8 {
        s.push(format!("and {} more", procs.len() - 8));
    }
    s.join(", ")
}

/// Whether a kill took: each resolved process gone, or (a signal other than SIGKILL)
/// caught by a handler, so delivered and handled; one that ignores the signal or is
/// still alive under its default action is not.
fn observe_kill(rec: &FaultRecord, sig: i32) -> Observation {
    let name = nix::sys::signal::Signal::try_from(sig).map_or("signal", |s| s.as_str());
    let all = &rec.resolved.procs;
    let mut alive = Vec::new();
    let mut caught = Vec::new();
    for p in all.iter().filter(|p| is_alive(p)) {
        match (sig != libc::SIGKILL).then(|| sig_masks(p.pid)).flatten() {
            Some((_, ign)) if ign & bit(sig) != 0 => {
                alive.push(format!("{} ignores {name}", p.pid))
            }
            Some((cgt, _)) if cgt & bit(sig) != 0 => caught.push(p.pid.to_string()),
            _ => alive.push(format!("{} still runs", p.pid)),
        }
    }
    if !alive.is_empty() {
        return Observation::unseen(format!(
            "{} of {} process(es) not gone after {name}: {}",
            alive.len(),
            all.len(),
            alive.join(", ")
        ));
    }
    let gone = all.len() - caught.len();
    let mut evidence = format!(
        "{gone} of {} process(es) gone after {name} (PID absent or reused, by start time)",
        all.len()
    );
    if !caught.is_empty() {
        evidence.push_str(&format!(
            "; {name} delivered to handlers in {}",
            caught.join(", ")
        ));
    }
    Observation::seen(evidence)
}

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// `SigCgt` and `SigIgn` of `/proc/PID/status`.
fn sig_masks(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    Some((field("SigCgt:")?, field("SigIgn:")?))
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

/// True if `rec` is a processPause carried out by `method`.
fn pause_by(rec: &FaultRecord, method: PauseMethod) -> bool {
    matches!(&rec.kind, NodeFault::ProcessPause(p) if p.method == method)
}

/// The resolved processes that are still the same processes.
fn live(rec: &FaultRecord) -> impl Iterator<Item = ProcRef> + '_ {
    rec.resolved.procs.iter().copied().filter(is_alive)
}

/// True if `rec` sends SIGKILL, which cannot be caught: its processes will exit.
fn kills(rec: &FaultRecord) -> bool {
    match &rec.kind {
        NodeFault::ProcessKill(k) => k.signal.number() == libc::SIGKILL,
        NodeFault::ContainerKill(_) => true,
        _ => false,
    }
}

/// Waits (briefly, [`STOP_TIMEOUT`] in all) while `pending` holds for any process in
/// `procs`: until SIGSTOP shows as stopped, or a SIGKILLed process is gone. Neither
/// signal can be blocked, so this only waits for the kernel to act on it.
async fn wait_while(procs: &[ProcRef], pending: impl Fn(&ProcRef) -> bool) {
    let started = Instant::now();
    for p in procs {
        while pending(p) && started.elapsed() < STOP_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Waits (at most [`STOP_TIMEOUT`] in all) until each SIGKILLed process has exited, read
/// from `/proc` every [`EXIT_POLL`] by a thread of the blocking pool. tokio's timer rounds
/// a sleep up to its next whole millisecond, so waiting on it cost each SIGKILL a
/// `faultline run` made 1-3 ms (P7). A pidfd would wake the waiter as the process exits,
/// but valgrind does not know `pidfd_open`: the code waiting on one never ran under
/// callgrind, so the function order profiled there (build-support/order/) left it
/// scattered, and each piece pulled 64 KiB of other code into every run's memory (P7).
/// For the same reason the thread is started even when every process is gone already (its
/// first read says so): under callgrind the victims are always gone by then.
async fn wait_gone(procs: &[ProcRef]) {
    if procs.is_empty() {
        return;
    }
    let killed = procs.to_vec();
    let waited = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        for p in &killed {
            while is_alive(p) && started.elapsed() < STOP_TIMEOUT {
                std::thread::sleep(EXIT_POLL);
            }
        }
    })
    .await;
    if waited.is_err() {
        // No blocking pool (the runtime is shutting down): tokio's timer, then.
        wait_while(procs, is_alive).await;
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

/// The cgroup a freezer pause freezes: the target's v1 `freezer` dir if it has one, else
/// its v2 dir. Freezing and reading it go through `cgroup::{v1, v2}::freezer`.
struct Freezer {
    dir: PathBuf,
    v2: bool,
}

impl Freezer {
    /// The dir for `rec` as resolved at apply time (no I/O); `None` if it has neither.
    fn of(rec: &FaultRecord) -> Option<Freezer> {
        let cg = &rec.resolved.cgroups;
        let dir = cg
            .iter()
            .find(|c| !c.v2 && c.controllers.iter().any(|n| n == "freezer"))
            .or_else(|| cg.iter().find(|c| c.v2))?;
        Some(Freezer {
            dir: dir.path.clone(),
            v2: dir.v2,
        })
    }

    /// [`Freezer::of`], checked before anything is frozen: the dir has a freezer file and
    /// does not hold the agent.
    fn find(rec: &FaultRecord) -> Result<Freezer, FaultError> {
        let unsupported = |reason: String| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason,
        };
        let fz = Freezer::of(rec).ok_or_else(|| {
            unsupported("the target is in no freezer (v1) or unified (v2) cgroup".into())
        })?;
        let file = fz.file();
        if !file.exists() {
            // The root cgroup has no freezer file: freezing it would stop the machine.
            return Err(unsupported(format!(
                "{} has no {} (a root cgroup cannot be frozen)",
                fz.dir.display(),
                file.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
            )));
        }
        if holds_self(&fz.dir) {
            return Err(unsupported(format!(
                "{} holds the agent itself; freezing it would freeze the agent",
                fz.dir.display()
            )));
        }
        Ok(fz)
    }

    /// The control file: `cgroup.freeze` (v2) or `freezer.state` (v1).
    fn file(&self) -> PathBuf {
        self.dir.join(if self.v2 {
            "cgroup.freeze"
        } else {
            "freezer.state"
        })
    }

    fn set(&self, frozen: bool) -> Result<(), FaultError> {
        use crate::cgroup::{v1, v2};
        match (self.v2, frozen) {
            (true, true) => v2::freezer::freeze(&self.dir),
            (true, false) => v2::freezer::thaw(&self.dir),
            (false, true) => v1::freezer::freeze(&self.dir),
            (false, false) => v1::freezer::thaw(&self.dir),
        }
    }

    /// True once every task is frozen (v1 passes through FREEZING first).
    fn is_frozen(&self) -> Result<bool, FaultError> {
        use crate::cgroup::{v1, v2};
        if self.v2 {
            v2::freezer::is_frozen(&self.dir)
        } else {
            Ok(v1::freezer::state(&self.dir)? == v1::freezer::State::Frozen)
        }
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
        let fz = Freezer {
            dir: dir.to_path_buf(),
            v2: false,
        };
        std::fs::write(fz.file(), state).unwrap();
        fz
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
        let file = late.file();
        let freezing = vec![(0, fake_v1(&dirs[0], "FROZEN")), (1, late)];
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            std::fs::write(file, "FROZEN").unwrap();
        });
        wait_frozen(freezing, Duration::from_secs(5)).await.unwrap();
        writer.await.unwrap();
    }
}
