//! The stress family's [`Fault`]: apply starts the workers, recover kills them.

use super::worker::{Job, PERIOD};
use super::workers;
use crate::cgroup::usage;
use crate::error::FaultError;
use crate::faults::fault::Fault;
use crate::faults::observe::{Baseline, Observation};
use crate::faults::record::{FaultRecord, Recovered};
use crate::resolve;
use faultline_spec::{LocalTarget, NodeFault};

/// The stress fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stress;

impl Fault for Stress {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let jobs = jobs(&rec.kind)?;
        check_target(rec)?;
        let running = workers::find(&rec.id);
        if !running.is_empty() && running.len() == jobs.len() {
            return Ok(()); // applied already: applying twice equals once
        }
        // A partial set (a worker died) is replaced whole, so the fault is what was asked.
        workers::kill_and_wait(&rec.id, &running).await?;
        workers::start(
            &rec.id,
            &jobs,
            &rec.resolved.cgroups,
            oom_score_adj(&rec.kind),
        )
        .await
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let running = workers::find(&rec.id);
        if running.is_empty() {
            return Ok(Recovered::AlreadyGone);
        }
        workers::kill_and_wait(&rec.id, &running).await?;
        Ok(Recovered::Removed)
    }

    /// The target cgroups' CPU time, for a CPU stress.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        match &rec.kind {
            NodeFault::StressCpu(_) => {
                Baseline::now(usage::cpu_ns(&rec.resolved.cgroups).ok().flatten())
                    .with_host_idle(usage::host_idle_ns())
            }
            _ => Baseline::now(None),
        }
    }

    /// CPU: every worker alive, and the target cgroup's CPU time (v1 `cpuacct.usage`, v2
    /// `cpu.stat usage_usec`) rising since apply at [`CPU_SEEN`] of the asked load or more
    /// (workers × load, at most the CPUs there are and the cgroup's own CPU quota: a
    /// container at its limit is as stressed as it can be), measured over [`MIN_WINDOW`]
    /// at least.
    /// On a machine with no CPU to spare the workers only get their share, which may be
    /// far below the asked load while the stress is doing exactly its job (competing):
    /// then [`BUSY_SHARE`] of the load is enough when the host's idle time over the window
    /// was less than what the workers fell short by. Workers held back some other way (frozen,
    /// starved by a parent cgroup) while CPUs sit idle are still caught.
    /// Memory: every worker alive, holding [`RSS_SEEN`] of `size` resident.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let running = workers::find(&rec.id);
        let asked = match jobs(&rec.kind) {
            Ok(j) => j.len(),
            Err(e) => return Observation::unseen(e.to_string()),
        };
        if running.len() < asked {
            return Observation::unseen(format!(
                "{} of {asked} stress worker(s) running",
                running.len()
            ));
        }
        match &rec.kind {
            NodeFault::StressCpu(c) => {
                let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                let asked = (f64::from(c.workers) * c.load.value() / 100.0).min(cpus);
                let quota = usage::cpu_quota(&rec.resolved.cgroups);
                let want = quota.map_or(asked, |q| asked.min(q));
                let now = match usage::cpu_ns(&rec.resolved.cgroups) {
                    Ok(Some(n)) => n,
                    Ok(None) => return Observation::unseen("the target has no CPU accounting"),
                    Err(e) => {
                        return Observation::unseen(format!("cgroup CPU time unreadable: {e}"));
                    }
                };
                let elapsed = since.at.elapsed();
                let Some(before) = since.counter else {
                    return Observation::unseen("no CPU time was read at apply");
                };
                if elapsed < MIN_WINDOW {
                    return Observation::unseen(format!(
                        "measuring CPU time ({} ms so far)",
                        elapsed.as_millis()
                    ));
                }
                let used = now.saturating_sub(before) as f64 / elapsed.as_nanos() as f64;
                let capped = match quota {
                    Some(q) if q < asked => format!(", capped at {q:.2} CPU by the cgroup's quota"),
                    _ => String::new(),
                };
                let evidence = format!(
                    "cgroup CPU time rose {used:.2} CPU over {:.1}s (asked {} worker(s) x {}% = {asked:.2} CPU{capped})",
                    elapsed.as_secs_f64(),
                    c.workers,
                    c.load.value()
                );
                let idle = match (usage::host_idle_ns(), since.host_idle) {
                    (Some(now), Some(then)) => {
                        Some(now.saturating_sub(then) as f64 / elapsed.as_nanos() as f64)
                    }
                    _ => None,
                };
                judge_cpu(used, want, idle, evidence)
            }
            NodeFault::StressMemory(m) => {
                let rss: u64 = running.iter().filter_map(|p| rss_bytes(p.pid)).sum();
                let evidence = format!(
                    "{} worker(s) hold {} resident (asked {})",
                    running.len(),
                    faultline_spec::Bytes(rss),
                    m.size
                );
                if rss as f64 >= m.size.0 as f64 * RSS_SEEN {
                    Observation::seen(evidence)
                } else {
                    Observation::unseen(evidence)
                }
            }
            other => Observation::unseen(format!("{} is not a stress fault", other.name())),
        }
    }
}

/// The share of the asked CPU load the cgroup must be seen using: workers are
/// duty-cycled and share the machine, so "about" the load, not exactly.
const CPU_SEEN: f64 = 0.5;
/// Whether CPU stress workers using `used` CPUs of the `want` asked are in effect, given
/// the host's `idle` CPUs over the same window (see [`Stress::observe`]).
fn judge_cpu(used: f64, want: f64, idle: Option<f64>, evidence: String) -> Observation {
    if used >= want * CPU_SEEN {
        return Observation::seen(evidence);
    }
    let short = want * CPU_SEEN - used;
    match idle {
        Some(i) if used >= want * BUSY_SHARE && i < short => Observation::seen(format!(
            "{evidence}: the host had {i:.2} CPU idle, so the workers ran at their share of a busy machine"
        )),
        _ => {
            let idle = idle.map_or(String::new(), |i| {
                format!(" while the host had {i:.2} CPU idle")
            });
            Observation::unseen(format!(
                "{evidence}: below {:.0}% of it{idle}",
                CPU_SEEN * 100.0
            ))
        }
    }
}

/// The share of the asked CPU load that proves the workers run at all on a busy machine.
const BUSY_SHARE: f64 = 0.05;
/// The share of `size` the workers must hold resident (the allocator's and the
/// kernel's rounding, pages not yet touched on the last check).
const RSS_SEEN: f64 = 0.8;
/// The shortest window a CPU rate is measured over.
const MIN_WINDOW: std::time::Duration = std::time::Duration::from_millis(300);

/// `VmRSS` of `/proc/PID/status`, in bytes.
fn rss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()
        .map(|k| k * 1024)
}

/// The `oom_score_adj` the workers get, if the fault sets one.
fn oom_score_adj(kind: &NodeFault) -> Option<i32> {
    match kind {
        NodeFault::StressMemory(m) => m.oom_score_adj,
        _ => None,
    }
}

/// One [`Job`] per worker. Memory is split evenly; the first worker takes the remainder.
fn jobs(kind: &NodeFault) -> Result<Vec<Job>, FaultError> {
    Ok(match kind {
        NodeFault::StressCpu(c) => vec![
            Job::Cpu {
                load: c.load.value(),
                slice: c.load_slice.map_or(PERIOD, |s| s.std()),
            };
            c.workers as usize
        ],
        NodeFault::StressMemory(m) => {
            let n = u64::from(m.workers);
            (0..n)
                .map(|i| Job::Memory {
                    bytes: m.size.0 / n + if i == 0 { m.size.0 % n } else { 0 },
                    hang: m.hang.map(|h| h.std()),
                })
                .collect()
        }
        other => {
            return Err(FaultError::Unsupported {
                kind: other.name(),
                target: String::new(),
                reason: "the stress executor runs stressCpu and stressMemory only".into(),
            });
        }
    })
}

/// Refuses, before anything runs, a target whose cgroups vanished or whose processes died.
fn check_target(rec: &FaultRecord) -> Result<(), FaultError> {
    let target = rec.target.to_string();
    if rec.resolved.cgroups.is_empty() {
        return Err(FaultError::Unsupported {
            kind: rec.kind.name(),
            target,
            reason: "it has no cgroup to place stress workers in".into(),
        });
    }
    if let Some(d) = rec.resolved.cgroups.iter().find(|d| !d.path.is_dir()) {
        return Err(FaultError::TargetNotFound(format!(
            "{target}: cgroup {} no longer exists",
            d.path.display()
        )));
    }
    // A cgroup target is its cgroup, with or without members; the others are processes.
    let procs_target = !matches!(rec.target, LocalTarget::Cgroup(_));
    if procs_target && !rec.resolved.procs.iter().any(resolve::is_alive) {
        return Err(FaultError::TargetNotFound(format!(
            "{target}: its processes have exited"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::fault::{StressCpu, StressMemory};
    use faultline_spec::{Bytes, Percent};

    #[test]
    fn cpu_stress_short_of_its_load_is_seen_only_when_the_host_had_nothing_to_spare() {
        let judge = |used, idle| judge_cpu(used, 1.0, idle, "e".into());
        // At half the load or more: seen, busy host or not.
        assert!(judge(0.6, Some(1.5)).effective);
        // A quarter of a CPU on a host with no idle time: its share of a busy machine.
        let busy = judge(0.25, Some(0.0));
        assert!(
            busy.effective && busy.evidence.contains("busy machine"),
            "{busy:?}"
        );
        // The same while a CPU sat idle: held back (frozen, a parent's limit).
        let held = judge(0.25, Some(1.0));
        assert!(
            !held.effective && held.evidence.contains("1.00 CPU idle"),
            "{held:?}"
        );
        // Barely running at all is not a share of anything.
        assert!(!judge(0.01, Some(0.0)).effective);
        // No idle reading: the plain rule.
        assert!(!judge(0.25, None).effective);
    }

    #[test]
    fn memory_is_split_and_nothing_is_lost() {
        let j = jobs(&NodeFault::StressMemory(StressMemory {
            workers: 3,
            size: Bytes(100),
            hang: None,
            oom_score_adj: None,
        }))
        .unwrap();
        let mem = |bytes| Job::Memory { bytes, hang: None };
        assert_eq!(j, [mem(34), mem(33), mem(33)]);
        let j = jobs(&NodeFault::StressCpu(StressCpu {
            workers: 2,
            load: Percent::new(40.0).unwrap(),
            load_slice: None,
        }))
        .unwrap();
        assert_eq!(
            j,
            [Job::Cpu {
                load: 40.0,
                slice: PERIOD
            }; 2]
        );
    }
}
