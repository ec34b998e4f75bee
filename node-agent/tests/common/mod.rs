//! Test helpers: guards that remove what a test created even when it fails.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `sleep` process, SIGKILLed (which works on stopped and frozen tasks too) and reaped
/// on drop.
pub struct Sleeper(pub Child);

impl Sleeper {
    /// Spawns `sleep 600` and waits until it sleeps (state `S`).
    pub fn spawn() -> Sleeper {
        let s = Sleeper(
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn sleep"),
        );
        let asleep = wait_until(Duration::from_secs(5), || proc_state(s.pid()) == Some('S'));
        assert!(asleep.is_some(), "sleep did not go to sleep");
        s
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Field 3 of /proc/PID/stat: `S` sleeping, `T` stopped, ...
    pub fn state(&self) -> char {
        proc_state(self.pid()).expect("sleep process vanished")
    }

    /// Waits (up to 5 s: signals are delivered asynchronously, and this machine is shared)
    /// until the process shows state `want`.
    pub fn reaches(&self, want: char) -> bool {
        wait_until(Duration::from_secs(5), || {
            proc_state(self.pid()) == Some(want)
        })
        .is_some()
    }

    /// True once the process has exited (reaped here).
    pub fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns how long it took.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A unique name with the `fltest-` prefix and this process's id.
pub fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "fltest-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A cgroup v1 freezer cgroup; on drop it is thawed, its tasks killed and it is removed.
pub struct FreezerCgroup(pub PathBuf);

impl FreezerCgroup {
    pub fn create(tag: &str) -> FreezerCgroup {
        let path = PathBuf::from("/sys/fs/cgroup/freezer").join(unique(tag));
        std::fs::create_dir(&path).expect("create freezer cgroup");
        FreezerCgroup(path)
    }

    pub fn add(&self, pid: u32) {
        std::fs::write(self.0.join("cgroup.procs"), pid.to_string())
            .expect("move pid into freezer cgroup");
    }

    pub fn state(&self) -> String {
        std::fs::read_to_string(self.0.join("freezer.state"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for FreezerCgroup {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("freezer.state"), "THAWED");
        if let Ok(procs) = std::fs::read_to_string(self.0.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        // The killed tasks take a moment to leave the cgroup.
        wait_until(Duration::from_secs(5), || {
            std::fs::remove_dir(&self.0).is_ok()
        });
    }
}

/// A free loopback port (bound then released; good enough on a test machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real `faultline-agent` binary on a loopback port; SIGKILLed on drop.
pub struct AgentProc {
    pub child: Child,
    pub port: u16,
}

impl AgentProc {
    /// Starts the agent and waits until /healthz answers.
    pub fn start(
        state_dir: &std::path::Path,
        token_file: &std::path::Path,
        port: u16,
    ) -> AgentProc {
        AgentProc::start_with(state_dir, token_file, port, |_| {})
    }

    /// As [`AgentProc::start`], with more arguments or environment set by `more`.
    pub fn start_with(
        state_dir: &std::path::Path,
        token_file: &std::path::Path,
        port: u16,
        more: impl FnOnce(&mut Command),
    ) -> AgentProc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline-agent"));
        cmd.args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(state_dir)
            .arg("--token-file")
            .arg(token_file)
            .stdin(Stdio::null());
        more(&mut cmd);
        let child = cmd.spawn().expect("spawn faultline-agent");
        let mut a = AgentProc { child, port };
        let up = wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                || matches!(a.child.try_wait(), Ok(Some(_)))
        });
        assert!(up.is_some(), "agent did not start listening");
        assert!(
            matches!(a.child.try_wait(), Ok(None)),
            "agent exited at start-up"
        );
        a
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
