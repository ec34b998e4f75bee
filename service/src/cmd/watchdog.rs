//! `faultline run`'s watchdog: a child that recovers the run's faults when the run dies
//! without saying goodbye (`kill -9`, the OOM killer, a crash), so a paused process does
//! not stay paused until someone runs `faultline recover`.
//!
//! - **Armed lazily**: the in-process agent calls [`Watchdog::arm`] on its thread before it
//!   journals the first fault that stays applied (not for instant faults such as
//!   processKill, nor for dry runs or runs of checks only): such runs pay nothing.
//! - **The child** is this binary re-executed as `faultline __watchdog STATE_DIR PID`
//!   (dispatched in `main` before the command line is parsed, so it starts in well under
//!   a millisecond of CPU and then sleeps). Its stdin is the read end of a pipe whose write
//!   end only the run holds (close-on-exec, so stress workers and `nft` never inherit it).
//! - **Goodbye**: a run that ends with nothing left applied writes [`GOODBYE`] and waits
//!   for the child to exit. EOF without it — the run's death closed the pipe — makes the
//!   child take the state dir's lock (it is free once the run is gone), recover everything
//!   the journal holds exactly as the next run would (`Agent::open`, then
//!   `confirm_recovered` and `fail_interrupted` on the store: the run's events record the
//!   recovery and the run ends `error`, with the reason), then exit. A run that ends with
//!   faults still journaled (a recovery that kept failing) closes the pipe without the
//!   goodbye, so the child retries them once the run has exited.
//! - **Belt**: the child also polls `getppid()` every 250 ms, in case something else held
//!   the pipe's write end open. Not `PR_SET_PDEATHSIG`: it fires when the *thread* that
//!   spawned the child exits (the agent thread here; tokio's blocking threads exit when
//!   idle), and its signal would need a handler (the stress workers poll for the same
//!   reason).
//! - **Its own process group**, set by `spawn` between fork and exec
//!   (`CommandExt::process_group`), so there is no moment at which the child still shares
//!   the run's group: it once called `setsid` itself, in `main`, and a group kill that
//!   came while a loaded machine was still loading the binary killed it with the run,
//!   leaving the first fault applied. A terminal's Ctrl-C (SIGINT to the foreground
//!   process group) reaches the run, which aborts and recovers, but not the child, which stays to
//!   see that through; and `kill -9 -PGID` of the run's group kills the run (and its stress
//!   workers) but not the child, which then recovers. Killing the child itself, or a
//!   cgroup-wide kill (a systemd unit's stop, a CI job's cgroup), leaves the journal for
//!   the next `faultline run` or `faultline recover`, as before.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::confirm_recovered;
use faultline::store::Store;
use faultline_agent::agent::{Agent, AgentError, BeforeLasting};
use faultline_agent::journal::JournalError;
use faultline_exporter::RecoveryReason;

/// argv[1] of the watchdog process.
pub const ARG: &str = "__watchdog";
/// The byte a run that ends cleanly sends before closing the pipe.
const GOODBYE: u8 = b'G';
/// How often the child checks that the run is still its parent.
const PARENT_CHECK: Duration = Duration::from_millis(250);
/// How long the child waits for the dead run's lock on the state dir to be released.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// How long `run` and `recover` wait for a watchdog that holds the state dir.
const WATCHDOG_WAIT: Duration = Duration::from_secs(30);
/// Retries of recoveries that failed, a second apart, before the child gives up and
/// leaves them in the journal.
const RETRIES: u32 = 5;

/// The run's side: arms the child once, says goodbye at the end.
pub struct Watchdog {
    state_dir: PathBuf,
    armed: Mutex<Option<Armed>>,
}

struct Armed {
    child: Child,
    pipe: ChildStdin,
}

impl Watchdog {
    /// A watchdog for the run using `state_dir`, not armed yet.
    pub fn new(state_dir: &Path) -> Arc<Watchdog> {
        Arc::new(Watchdog {
            state_dir: std::path::absolute(state_dir).unwrap_or_else(|_| state_dir.to_path_buf()),
            armed: Mutex::new(None),
        })
    }

    /// The agent's hook: arms the watchdog before the first lasting fault.
    pub fn hook(self: &Arc<Self>) -> BeforeLasting {
        let me = self.clone();
        Box::new(move || me.arm())
    }

    /// Starts the child unless it runs already.
    fn arm(&self) -> Result<(), String> {
        let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
        if armed.is_some() {
            return Ok(());
        }
        // The file may have been replaced on disk (an upgrade) since the run started.
        let exe = std::env::current_exe()
            .ok()
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
        let mut child = Command::new(&exe)
            .arg(ARG)
            .arg(&self.state_dir)
            .arg(std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            // Out of the run's process group before exec: see the module's comment.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {} {ARG}: {e}", exe.display()))?;
        let pipe = child.stdin.take().expect("stdin was piped");
        *armed = Some(Armed { child, pipe });
        Ok(())
    }

    /// Ends the watchdog. `clean`: nothing is left applied, so the child exits at once
    /// (and is waited for, so no watchdog outlives a clean run). Otherwise the pipe is
    /// closed without the goodbye, and the child recovers what is left once this process
    /// has exited and released the state dir.
    pub fn goodbye(&self, clean: bool) {
        let Some(Armed {
            mut child,
            mut pipe,
        }) = self.armed.lock().unwrap_or_else(|p| p.into_inner()).take()
        else {
            return;
        };
        if !clean {
            return;
        }
        // If the write fails the child is gone already; either way wait a moment for it.
        let _ = pipe.write_all(&[GOODBYE]);
        drop(pipe);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_micros(200)),
                _ => return,
            }
        }
    }
}

/// Opens the in-process agent of `state_dir`; while a watchdog (of a run killed a moment
/// ago) holds the dir, waits for it to finish recovering instead of failing.
pub async fn open_agent(
    state_dir: &Path,
    watchdog: Option<&Arc<Watchdog>>,
) -> Result<Agent, AgentError> {
    let started = Instant::now();
    let mut said = false;
    loop {
        let opened = match watchdog {
            Some(w) => Agent::open_guarded(state_dir, w.hook()).await,
            None => Agent::open(state_dir).await,
        };
        match opened {
            Err(AgentError::Journal(JournalError::Locked { holder, .. }))
                if watchdog_or_gone(&holder) && started.elapsed() < WATCHDOG_WAIT =>
            {
                if !said {
                    println!(
                        "waiting for the watchdog of a killed run ({holder}) to finish recovering"
                    );
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// True when the lock file's `pid N` names a watchdog, or a process that is gone (or a
/// zombie): the
/// lock is then held by a watchdog that has taken it but not yet written its pid over the
/// dead run's (the two are separate steps), and it is worth waiting for.
fn watchdog_or_gone(holder: &str) -> bool {
    let Some(pid) = holder.strip_prefix("pid ") else {
        return false;
    };
    match std::fs::read(format!("/proc/{}/cmdline", pid.trim())) {
        // A zombie's cmdline reads empty: it holds no file any more.
        Ok(argv) => argv.is_empty() || argv.split(|b| *b == 0).nth(1) == Some(ARG.as_bytes()),
        Err(_) => true,
    }
}

/// Why the watchdog stopped waiting.
enum Ended {
    /// The run ended cleanly.
    Goodbye,
    /// The pipe closed without the goodbye, or the run is no longer our parent.
    Died,
}

/// The child's `main`: `faultline __watchdog STATE_DIR PID`.
pub fn main(args: &[String]) -> ExitCode {
    let (Some(dir), Some(parent)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|p| p.parse::<i32>().ok()),
    ) else {
        eprintln!("usage: faultline {ARG} STATE_DIR PID (started by `faultline run`)");
        return ExitCode::from(2);
    };
    match wait_for(parent) {
        Ended::Goodbye => ExitCode::SUCCESS,
        Ended::Died => recover(&dir, parent),
    }
}

/// Blocks until the goodbye, EOF, or the run no longer being our parent.
fn wait_for(parent: i32) -> Ended {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let ended = loop {
            match std::io::stdin().lock().read(&mut byte) {
                Ok(1) if byte[0] == GOODBYE => break Ended::Goodbye,
                Ok(1) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                _ => break Ended::Died,
            }
        };
        let _ = tx.send(ended);
    });
    loop {
        match rx.recv_timeout(PARENT_CHECK) {
            Ok(ended) => return ended,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if nix::unistd::getppid().as_raw() != parent {
                    return Ended::Died;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ended::Died,
        }
    }
}

/// Recovers what the dead run left, as the next run's start-up would, and says so.
fn recover(dir: &Path, parent: i32) -> ExitCode {
    let _ = faultline_exporter::logging::init(faultline_exporter::LogFormat::Human, 0);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("faultline watchdog: cannot start a runtime: {e}; run `faultline recover`");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(settle(dir, parent)) {
        Ok(msg) => {
            eprintln!("faultline watchdog: {msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "faultline watchdog: `faultline run` (pid {parent}) died; {e:#}; run `faultline recover --state-dir {}`",
                dir.display()
            );
            ExitCode::from(1)
        }
    }
}

async fn settle(dir: &Path, parent: i32) -> anyhow::Result<String> {
    let agent_dir = dir.join("agent");
    let started = Instant::now();
    let agent = loop {
        match Agent::open(&agent_dir).await {
            // The dead run's lock goes with its last file descriptor, a moment after the
            // pipe closed.
            Err(AgentError::Journal(JournalError::Locked { holder, .. }))
                if holder == format!("pid {parent}") && started.elapsed() < LOCK_WAIT =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(AgentError::Journal(JournalError::Locked { holder, .. })) => {
                // Another run or `faultline recover` took the dir first: opening it
                // recovered the journal.
                return Ok(format!(
                    "`faultline run` (pid {parent}) died; the state dir is held by {holder}, which recovers it"
                ));
            }
            other => break other?,
        }
    };
    let mut recovered = agent.startup_report().recovered.len();
    let mut left = agent.startup_report().failed.len();
    for _ in 0..RETRIES {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Ok(r) = agent.recover_all(RecoveryReason::Startup).await {
            recovered += r.len();
        }
        left = agent.list().await.map_or(left, |l| l.len());
    }
    // The run's events: each fault it recorded active, confirmed recovered through this
    // agent; then the run ends `error` with the reason.
    let store = Store::open_local(&dir.join("faultline.db"))?;
    let confirmed =
        confirm_recovered(&store, &Injector::InProcess(Arc::new(agent.clone())), None).await?;
    let why = format!(
        "the faultline process running it (pid {parent}) was killed; its watchdog recovered {recovered} fault record(s) it left applied{}",
        if left > 0 {
            format!(" ({left} could not be: `faultline recover` retries them)")
        } else {
            String::new()
        }
    );
    let ended = store.fail_interrupted(&why)?;
    agent.shutdown().await?;
    Ok(format!(
        "`faultline run` (pid {parent}) died; recovered {recovered} fault record(s), confirmed {} on {} run(s) ended `error`{}",
        confirmed.len(),
        ended.len(),
        if left > 0 {
            format!("; {left} NOT recovered: run `faultline recover`")
        } else {
            String::new()
        }
    ))
}
