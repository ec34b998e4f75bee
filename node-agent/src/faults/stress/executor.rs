//! The stress family's [`Fault`]: apply starts the workers, recover kills them.

use super::worker::{Job, PERIOD};
use super::workers;
use crate::error::FaultError;
use crate::faults::fault::Fault;
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
