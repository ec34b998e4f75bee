//! Child processes behind a guard that kills and reaps them even when the test panics, the
//! `sleep` processes tests aim faults at, a process's state as the kernel shows it, and a
//! shell for set-up commands.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::ports;
use crate::wait::{wait_until, wait_until_async};

/// A child process, killed and reaped on drop.
///
/// Dropping it sends SIGCONT before SIGKILL: a test may have stopped the process (that is
/// what a pause fault does), and continuing it first makes sure nothing of it lingers
/// stopped, whatever signal handling the kernel applies to a stopped task. A process in a
/// frozen cgroup v1 only dies once thawed: [`crate::FreezerCgroup`] thaws on drop, so
/// declare the cgroup after the process (it is then dropped first).
pub struct Proc(pub Child);

impl Proc {
    /// Spawns `cmd`, failing the test with the program's name when it cannot start.
    pub fn spawn(cmd: &mut Command) -> Proc {
        Proc(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program())),
        )
    }

    /// `sleep 600`, returned once it sleeps (state `S`).
    ///
    /// Waiting matters: `spawn` returns before the child has exec'ed, and a fault or a
    /// state check aimed at it in that moment sees a half-started process. One copy of
    /// this helper did not wait; this is the copy that did.
    pub fn sleep() -> Proc {
        let p = Proc::spawn(Command::new("sleep").arg("600").stdin(Stdio::null()));
        assert!(p.reaches('S'), "sleep {} did not go to sleep", p.pid());
        p
    }

    /// `sleep 600` with argv\[0\] `argv0`, returned once `/proc/PID/cmdline` shows it.
    ///
    /// `spawn` returns when the kernel has swapped in the new image, a moment before exec
    /// writes the new argv into it; until then the cmdline reads empty. On a loaded
    /// machine a resolve by name in that moment found nothing (seen once in CI).
    pub fn sleep_named(argv0: &str) -> Proc {
        use std::os::unix::process::CommandExt;
        let p = Proc::spawn(
            Command::new("sleep")
                .arg0(argv0)
                .arg("600")
                .stdin(Stdio::null()),
        );
        let cmdline = format!("/proc/{}/cmdline", p.pid());
        let shown = wait_until(Duration::from_secs(5), || {
            std::fs::read(&cmdline).is_ok_and(|c| c.starts_with(argv0.as_bytes()))
        });
        assert!(shown.is_some(), "{cmdline} never showed argv[0] {argv0}");
        p
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Its state letter (`S` sleeping, `T` stopped, ...); fails the test once it is gone.
    pub fn state(&self) -> char {
        match proc_state(self.pid()) {
            '?' => panic!("process {} vanished", self.pid()),
            s => s,
        }
    }

    /// Waits (up to 5 s: signals are delivered asynchronously, and this machine is shared)
    /// until the process shows state `want`.
    pub fn reaches(&self, want: char) -> bool {
        wait_until(Duration::from_secs(5), || proc_state(self.pid()) == want).is_some()
    }

    /// True once the process has exited (it is reaped here).
    pub fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }

    /// Sends `sig`.
    #[cfg(target_os = "linux")]
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig)
            .unwrap_or_else(|e| panic!("kill -{sig} {}: {e}", self.pid()));
    }

    /// The port the process listens on, once it does (20 s at most: a loaded machine can
    /// take that long to start Prometheus). For a child told to listen on port 0: see
    /// [`crate::ports`] for why that beats handing it a number. Fails the test when the
    /// process exits first, with its exit status.
    pub fn wait_listening(&mut self) -> u16 {
        let mut seen = None;
        wait_until(Duration::from_secs(20), || {
            seen = self.listening_or_exited();
            seen.is_some()
        });
        self.port_or_panic(seen)
    }

    /// [`Proc::wait_listening`] for async tests (sleeps on the runtime).
    pub async fn wait_listening_async(&mut self) -> u16 {
        let mut seen = None;
        wait_until_async(Duration::from_secs(20), || {
            seen = self.listening_or_exited();
            seen.is_some()
        })
        .await;
        self.port_or_panic(seen)
    }

    fn listening_or_exited(&mut self) -> Option<Result<u16, std::process::ExitStatus>> {
        if let Ok(Some(status)) = self.0.try_wait() {
            return Some(Err(status));
        }
        ports::listening_ports(self.pid()).first().map(|p| Ok(*p))
    }

    fn port_or_panic(&self, seen: Option<Result<u16, std::process::ExitStatus>>) -> u16 {
        match seen {
            Some(Ok(port)) => port,
            Some(Err(status)) => panic!(
                "process {} exited ({status}) before it listened on a port",
                self.pid()
            ),
            None => panic!("process {} listened on no TCP port within 20 s", self.pid()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid() as i32),
            nix::sys::signal::Signal::SIGCONT,
        );
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `sleep 600` to aim faults at, returned once it sleeps (see [`Proc::sleep`]).
pub fn sleeper() -> Proc {
    Proc::sleep()
}

/// The one-letter state of a process (`R`, `S`, `T`, ...) from field 3 of
/// `/proc/PID/stat`, or `?` once it is gone.
pub fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) is in parentheses and may itself hold ") ".
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// Waits (up to 20 s) until `pid` is stopped (state `T`).
pub async fn wait_stopped(pid: u32) -> bool {
    wait_until_async(Duration::from_secs(20), || proc_state(pid) == 'T')
        .await
        .is_some()
}

/// Runs `sh -c cmd` for set-up or a cross-check and returns its stdout; fails the test
/// with both its outputs when it fails (one copy of this helper showed only stderr, and
/// `ip` prints some of its errors on stdout).
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleeper_sleeps_and_is_gone_after_its_guard() {
        let s = sleeper();
        let pid = s.pid();
        assert_eq!(s.state(), 'S');
        drop(s);
        assert_eq!(proc_state(pid), '?');
    }

    #[test]
    fn a_stopped_child_is_killed_by_its_guard() {
        let s = sleeper();
        let pid = s.pid();
        sh(&format!("kill -STOP {pid}"));
        assert!(s.reaches('T'));
        drop(s);
        assert_eq!(proc_state(pid), '?');
    }

    #[test]
    fn sh_fails_naming_the_command() {
        let r = std::panic::catch_unwind(|| sh("echo out; echo err >&2; exit 3"));
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(
            msg.contains("exit 3") && msg.contains("out") && msg.contains("err"),
            "{msg}"
        );
    }
}
