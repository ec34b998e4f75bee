//! The stress worker: this same executable, re-exec'ed with a marker argv
//! (`<exe> __faultline-stress-worker <fault-id> cpu <load> <slice-us>` or
//! `... mem <bytes> <hang-ms>`; an older agent's workers lack the last word).
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

/// Default duty-cycle period (slice) of a CPU worker: short enough that a cgroup's
/// accounting over a second sees the mean, long enough that its clock reads cost next to
/// nothing. `stressCpu.loadSlice` sets another.
pub const PERIOD: Duration = Duration::from_millis(10);

/// How often a worker checks that its parent still lives.
const PARENT_CHECK: Duration = Duration::from_millis(100);

/// What one worker does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Job {
    /// Keep one core busy `load` percent (0..=100) of the time.
    Cpu {
        /// Percent of one core.
        load: f64,
        /// Duty-cycle period: busy `load` percent of each slice.
        slice: Duration,
    },
    /// Allocate and touch this many bytes, then hold them.
    Memory {
        /// Bytes to keep resident.
        bytes: u64,
        /// Free and re-allocate the bytes after holding them this long; `None`: hold.
        hang: Option<Duration>,
    },
}

impl Job {
    /// The argv after the executable for a worker of fault `id`.
    pub fn argv(&self, id: &str) -> Vec<String> {
        let (kind, value, extra) = match self {
            Job::Cpu { load, slice } => ("cpu", load.to_string(), slice.as_micros()),
            Job::Memory { bytes, hang } => {
                ("mem", bytes.to_string(), hang.map_or(0, |h| h.as_millis()))
            }
        };
        vec![
            MARKER.to_string(),
            id.to_string(),
            kind.to_string(),
            value,
            extra.to_string(),
        ]
    }

    /// Parses `<kind> <value> [<extra>]` (argv after the fault id).
    pub fn parse(kind: &str, value: &str, extra: Option<&str>) -> Option<Job> {
        let extra: u64 = match extra {
            Some(e) => e.parse().ok()?,
            None => 0,
        };
        match kind {
            "cpu" => value
                .parse()
                .ok()
                .filter(|l| (0.0..=100.0).contains(l))
                .map(|load| Job::Cpu {
                    load,
                    slice: match extra {
                        0 => PERIOD,
                        us => Duration::from_micros(us),
                    },
                }),
            "mem" => value.parse().ok().map(|bytes| Job::Memory {
                bytes,
                hang: (extra > 0).then(|| Duration::from_millis(extra)),
            }),
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
    let extra = args.get(5).and_then(|a| a.to_str());
    let Some(job) = Job::parse(arg(3), arg(4), extra) else {
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
        Job::Cpu { load, slice } => burn(load, slice, orphaned),
        Job::Memory { bytes, hang } => hold(bytes, hang, orphaned),
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

/// Keeps one core `load` % busy. Each period (`slice`) it spins while the CPU time it got
/// in the current window is below `load` % of the window's wall time, then sleeps to the
/// period's end. Counting CPU time rather than wall time keeps the mean right on a busy
/// node, where a spin of 5 ms wall may get only part of it on the CPU. The window spans
/// at least one slice, so a long slice is one burst and one rest.
fn burn(load: f64, slice: Duration, orphaned: impl Fn() -> bool) -> i32 {
    let share = load / 100.0;
    let window = WINDOW.max(slice);
    let (mut wall0, mut cpu0) = (Instant::now(), cpu_time());
    let mut next = Instant::now();
    let mut checked = Instant::now();
    loop {
        next += slice;
        // Spin until this window's CPU time reaches its share of the wall time at the
        // period's end, or the period is over.
        let due = (next - wall0).mul_f64(share);
        while share > 0.0 && Instant::now() < next && cpu_time() - cpu0 < due {
            for _ in 0..1000 {
                std::hint::spin_loop();
            }
            if checked.elapsed() >= PARENT_CHECK {
                if orphaned() {
                    return 0;
                }
                checked = Instant::now();
            }
        }
        let now = Instant::now();
        if next > now && !nap(next - now, &orphaned) {
            return 0;
        } else if now > next + slice {
            next = now; // descheduled: restart the cycle rather than burst to catch up
        }
        if wall0.elapsed() >= window {
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

/// Sleeps `d`, checking every [`PARENT_CHECK`] that the parent lives (a long slice or
/// hang must not outlive the agent); false if it died.
fn nap(d: Duration, orphaned: &impl Fn() -> bool) -> bool {
    let end = Instant::now() + d;
    loop {
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(PARENT_CHECK));
        if orphaned() {
            return false;
        }
    }
}

/// Allocates `bytes`, writes every byte (so every page is resident and charged to the
/// worker's memory cgroup, and none is the shared zero page), and holds it: until the
/// parent dies, or with a `hang` for that long, then frees it and starts again.
///
/// Freeing must give the pages back to the kernel, or a re-allocation would find them
/// resident: the agent starts memory workers with `MALLOC_MMAP_THRESHOLD_` set low
/// (`workers.rs`), so glibc maps every large buffer on its own and unmaps it on drop.
fn hold(bytes: u64, hang: Option<Duration>, orphaned: impl Fn() -> bool) -> i32 {
    let Ok(len) = usize::try_from(bytes) else {
        return 3;
    };
    loop {
        let mut buf: Vec<u8> = Vec::new();
        if buf.try_reserve_exact(len).is_err() {
            eprintln!("faultline stress worker: cannot allocate {bytes} bytes");
            return 3;
        }
        buf.resize(len, 0xa5);
        std::hint::black_box(&buf);
        let held = match hang {
            Some(h) => nap(h, &orphaned),
            None => {
                while !orphaned() {
                    std::thread::sleep(PARENT_CHECK);
                }
                false
            }
        };
        std::hint::black_box(&buf);
        drop(buf);
        if !held {
            return 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_round_trips() {
        for job in [
            Job::Cpu {
                load: 37.5,
                slice: Duration::from_millis(250),
            },
            Job::Memory {
                bytes: 1 << 26,
                hang: None,
            },
            Job::Memory {
                bytes: 1 << 20,
                hang: Some(Duration::from_secs(2)),
            },
        ] {
            let argv = job.argv("run1-0-a");
            assert_eq!(argv[..2], [MARKER, "run1-0-a"]);
            assert_eq!(Job::parse(&argv[2], &argv[3], Some(&argv[4])), Some(job));
        }
        // An older agent's argv, without the last word: the defaults.
        assert_eq!(
            Job::parse("cpu", "5", None),
            Some(Job::Cpu {
                load: 5.0,
                slice: PERIOD
            })
        );
        assert_eq!(Job::parse("cpu", "101", None), None);
        assert_eq!(Job::parse("cpu", "x", None), None);
        assert_eq!(Job::parse("cpu", "5", Some("x")), None);
        assert_eq!(Job::parse("disk", "1", None), None);
    }

    #[test]
    fn workers_stop_when_orphaned() {
        assert_eq!(burn(50.0, PERIOD, || true), 0);
        assert_eq!(burn(50.0, Duration::from_secs(5), || true), 0);
        assert_eq!(hold(4096, None, || true), 0);
        assert_eq!(hold(4096, Some(Duration::from_secs(5)), || true), 0);
    }
}
