//! The stress worker: this same executable, re-exec'ed with a marker argv
//! (`<exe> __faultline-stress-worker <fault-id> cpu <load>` or `... mem <bytes>`).
//!
//! Exec, never a bare fork: the agent is multithreaded, and a forked copy of it could
//! inherit a lock held by another thread. The handshake: the worker writes one byte to
//! stdout once it runs (spawn may return while exec is still setting up the new image,
//! when `/proc/PID/cmdline` is still empty and recovery could not find it), then waits for
//! one byte on stdin before it burns anything, so the agent can first move it into the
//! target's cgroups; EOF instead of the byte means "abort". It exits by itself once its parent is gone (polling
//! `getppid()`): PR_SET_PDEATHSIG would fire when the spawning *thread* exits, and tokio's
//! blocking-pool threads exit when idle.

use std::ffi::OsString;
use std::io::Read;
use std::time::{Duration, Instant};

/// argv[1] of every stress worker; recovery finds workers by it.
pub const MARKER: &str = "__faultline-stress-worker";

/// Duty-cycle period of a CPU worker: short enough that a cgroup's accounting over a
/// second sees the mean, long enough that its clock reads cost next to nothing.
const PERIOD: Duration = Duration::from_millis(10);

/// How often a worker checks that its parent still lives.
const PARENT_CHECK: Duration = Duration::from_millis(100);

/// What one worker does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Job {
    /// Keep one core busy `load` percent (0..=100) of the time.
    Cpu {
        /// Percent of one core.
        load: f64,
    },
    /// Allocate and touch this many bytes, then hold them.
    Memory {
        /// Bytes to keep resident.
        bytes: u64,
    },
}

impl Job {
    /// The argv after the executable for a worker of fault `id`.
    pub fn argv(&self, id: &str) -> Vec<String> {
        let (kind, value) = match self {
            Job::Cpu { load } => ("cpu", load.to_string()),
            Job::Memory { bytes } => ("mem", bytes.to_string()),
        };
        vec![MARKER.to_string(), id.to_string(), kind.to_string(), value]
    }

    /// Parses `<kind> <value>` (argv after the fault id).
    pub fn parse(kind: &str, value: &str) -> Option<Job> {
        match kind {
            "cpu" => value
                .parse()
                .ok()
                .filter(|l| (0.0..=100.0).contains(l))
                .map(|load| Job::Cpu { load }),
            "mem" => value.parse().ok().map(|bytes| Job::Memory { bytes }),
            _ => None,
        }
    }
}

/// If this process was started as a stress worker, runs the worker and exits; otherwise
/// returns at once. Call it first thing in `main` of every binary that runs faults.
pub fn run_stress_worker_if_requested() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_none_or(|a| a != MARKER) {
        return;
    }
    let arg = |i: usize| args.get(i).and_then(|a| a.to_str()).unwrap_or("");
    let Some(job) = Job::parse(arg(3), arg(4)) else {
        eprintln!("faultline stress worker: bad arguments {:?}", &args[1..]);
        std::process::exit(2);
    };
    std::process::exit(run(job));
}

/// Runs `job` until the parent dies; returns the exit code.
fn run(job: Job) -> i32 {
    let parent = nix::unistd::getppid();
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        if out.write_all(b"r").and_then(|()| out.flush()).is_err() {
            return 0; // the agent gave up on us
        }
    }
    let mut go = [0u8; 1];
    // The agent writes one byte once the worker sits in the target's cgroups.
    if !matches!(std::io::stdin().read(&mut go), Ok(1)) {
        return 0;
    }
    let orphaned = || nix::unistd::getppid() != parent;
    match job {
        Job::Cpu { load } => burn(load, orphaned),
        Job::Memory { bytes } => hold(bytes, orphaned),
    }
}

/// Window over which a CPU worker evens out its CPU time against `load`: a worker that was
/// descheduled catches up within it, but never bursts for longer.
const WINDOW: Duration = Duration::from_secs(1);

/// CPU time this process has used.
fn cpu_time() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .map_or(Duration::ZERO, Duration::from)
}

/// Keeps one core `load` % busy. Each period it spins while the CPU time it got in the
/// current window is below `load` % of the window's wall time, then sleeps to the period's
/// end. Counting CPU time rather than wall time keeps the mean right on a busy node,
/// where a spin of 5 ms wall may get only part of it on the CPU.
fn burn(load: f64, orphaned: impl Fn() -> bool) -> i32 {
    let share = load / 100.0;
    let (mut wall0, mut cpu0) = (Instant::now(), cpu_time());
    let mut next = Instant::now();
    let mut checked = Instant::now();
    loop {
        next += PERIOD;
        // Spin until this window's CPU time reaches its share of the wall time at the
        // period's end, or the period is over.
        let due = (next - wall0).mul_f64(share);
        while share > 0.0 && Instant::now() < next && cpu_time() - cpu0 < due {
            for _ in 0..1000 {
                std::hint::spin_loop();
            }
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now > next + PERIOD {
            next = now; // descheduled: restart the cycle rather than burst to catch up
        }
        if wall0.elapsed() >= WINDOW {
            (wall0, cpu0) = (Instant::now(), cpu_time());
        }
        if checked.elapsed() >= PARENT_CHECK {
            if orphaned() {
                return 0;
            }
            checked = Instant::now();
        }
    }
}

/// Allocates `bytes`, writes every byte (so every page is resident and charged to the
/// worker's memory cgroup, and none is the shared zero page), and holds it.
fn hold(bytes: u64, orphaned: impl Fn() -> bool) -> i32 {
    let Ok(len) = usize::try_from(bytes) else {
        return 3;
    };
    let mut buf: Vec<u8> = Vec::new();
    if buf.try_reserve_exact(len).is_err() {
        eprintln!("faultline stress worker: cannot allocate {bytes} bytes");
        return 3;
    }
    buf.resize(len, 0xa5);
    std::hint::black_box(&buf);
    while !orphaned() {
        std::thread::sleep(PARENT_CHECK);
    }
    std::hint::black_box(&buf);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_round_trips() {
        for job in [Job::Cpu { load: 37.5 }, Job::Memory { bytes: 1 << 26 }] {
            let argv = job.argv("run1-0-a");
            assert_eq!(argv[..2], [MARKER, "run1-0-a"]);
            assert_eq!(Job::parse(&argv[2], &argv[3]), Some(job));
        }
        assert_eq!(Job::parse("cpu", "101"), None);
        assert_eq!(Job::parse("cpu", "x"), None);
        assert_eq!(Job::parse("disk", "1"), None);
    }

    #[test]
    fn workers_stop_when_orphaned() {
        assert_eq!(burn(50.0, || true), 0);
        assert_eq!(hold(4096, || true), 0);
    }
}
