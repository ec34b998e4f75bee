//! Where resolution reads the system from, and what it reads about one process:
//! `/proc/PID/stat`, argv, the PIDs, the cgroup mounts.

use std::path::PathBuf;

use crate::cgroup::mount::{self, CgroupMount};
use crate::error::FaultError;
use crate::target::ProcRef;

/// True if the process `p` still runs: same PID, same start time, not a zombie.
pub fn is_alive(p: &ProcRef) -> bool {
    Host::system().is_alive(p)
}

/// Where to read the system from: `/proc` and `/run/netns` on a real host, a fixture tree
/// in tests.
#[derive(Debug, Clone)]
pub struct Host {
    pub(super) proc: PathBuf,
    pub(super) run_netns: PathBuf,
    pub(super) self_pid: u32,
}

/// What `/proc/PID/stat` says that we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Field 3: `R`, `S`, `Z`, ...
    pub state: char,
    /// Field 4: the parent's PID.
    pub ppid: u32,
    /// Field 22: start time in clock ticks since boot.
    pub start_time: u64,
}

/// Parses `/proc/PID/stat`. `comm` (field 2) may hold spaces and parentheses, so the
/// fields after it are found from the *last* `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); field N is f[N - 3].
    Some(Stat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start_time: f.get(19)?.parse().ok()?,
    })
}

impl Host {
    /// The real machine.
    pub fn system() -> Host {
        Host::at("/proc", "/run/netns")
    }

    /// A host whose `/proc` is `proc` and whose named netns live in `run_netns`.
    pub fn at(proc: impl Into<PathBuf>, run_netns: impl Into<PathBuf>) -> Host {
        Host {
            proc: proc.into(),
            run_netns: run_netns.into(),
            self_pid: std::process::id(),
        }
    }

    /// The process `pid` as a [`ProcRef`], or `None` if it is gone or a zombie.
    pub fn proc_ref(&self, pid: u32) -> Option<ProcRef> {
        let st = self.stat(pid)?;
        (st.state != 'Z').then_some(ProcRef {
            pid,
            start_time: st.start_time,
        })
    }

    /// `/proc/PID/stat`, parsed; `None` if the process is gone.
    pub fn stat(&self, pid: u32) -> Option<Stat> {
        parse_stat(&std::fs::read_to_string(self.proc.join(pid.to_string()).join("stat")).ok()?)
    }

    /// True if `p` still runs: same PID, same start time, not a zombie.
    pub fn is_alive(&self, p: &ProcRef) -> bool {
        self.proc_ref(p.pid)
            .is_some_and(|now| now.start_time == p.start_time)
    }

    /// The PIDs under `/proc`, ascending.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = std::fs::read_dir(&self.proc)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// argv of `pid`, empty for kernel threads, zombies and processes that are gone.
    pub fn cmdline(&self, pid: u32) -> Vec<String> {
        let raw =
            std::fs::read(self.proc.join(pid.to_string()).join("cmdline")).unwrap_or_default();
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// The cgroup mounts this host has.
    pub fn mounts(&self) -> Result<Vec<CgroupMount>, FaultError> {
        mount::mounts(&self.proc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_start_time_survives_odd_comms() {
        let st =
            parse_stat("42 (a) b (c)) R 7 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0").unwrap();
        assert_eq!(
            st,
            Stat {
                state: 'R',
                ppid: 7,
                start_time: 98765
            }
        );
        assert_eq!(parse_stat("42 (x) R 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }
}
