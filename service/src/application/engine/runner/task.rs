//! Task steps, in cluster mode only: the task's pod is created through the `TaskPods`
//! port, read until its container has exited, its log read, and deleted on every path
//! (exit, deadline, timeout, abort, error) before the branches whose condition holds run,
//! all at the same time (Chaos Mesh's conditional branches).
//!
//! Bounds are passed down as in `lifecycle.rs`: the wait ends at `until` (the deadline
//! of the groups around the step and the step's own), at the task's `timeout`, or at an
//! abort, whichever comes first, and never by dropping a future mid-call. The pod also
//! carries `activeDeadlineSeconds` = `timeout`, so the kubelet stops it even if this
//! service dies before deleting it.

use std::time::Duration;

use faultline_spec::task::{Task, TaskOutcome};
use faultline_spec::{Step, TaskStep};
use futures::future::join_all;
use tokio::time::Instant;

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::engine::plan::label as step_label;
use crate::application::ports::{PodCluster, TaskPod, TaskPods, TaskState};
use crate::domain::{RunEvent, TASK_STDOUT_SHOWN};

/// How often the pod is read while its container runs: a task is a check or a hook of
/// seconds to minutes, and two reads a second is little load on the API server.
const POLL: Duration = Duration::from_millis(500);

/// The most of a log read for the branches: conditions compare short answers, and a
/// container printing megabytes must not fill the service's memory.
const STDOUT_READ: usize = 64 * 1024;

/// The namespace a task's pod runs in when neither it nor the experiment names one
/// (where Chaos Mesh, and kubectl, would put it).
const DEFAULT_NAMESPACE: &str = "default";

impl Runner {
    /// Runs task step `t`: its pod to the end, then the branches it picks.
    pub(super) async fn exec_task(
        &self,
        t: &TaskStep,
        label: String,
        until: Option<Instant>,
    ) -> Result<(), Stop> {
        if let Some(r) = self.aborted() {
            return Err(Stop::Aborted(r));
        }
        let Some(cluster) = self.opts.cluster.as_deref() else {
            return Err(Stop::error(RunError::TaskNeedsCluster { step: label }));
        };
        let until = earliest(until, t.deadline.map(|d| Instant::now() + d.std()));
        let Some((code, stdout)) = self.run_task_pod(cluster, t, &label, until).await? else {
            self.record(RunEvent::Note {
                message: format!(
                    "step {label}: its deadline passed before the task's container exited; the pod was deleted and no branch runs; the run goes on"
                ),
            })?;
            return Ok(());
        };
        let chosen = t.task.chosen(TaskOutcome {
            exit_code: i64::from(code.0),
            stdout: &stdout,
        });
        self.record(RunEvent::TaskFinished {
            step: label.clone(),
            pod: code.1,
            exit_code: code.0,
            stdout: stdout.chars().take(TASK_STDOUT_SHOWN).collect(),
            branches: chosen
                .iter()
                .map(|i| format!("branch#{}: {}", i + 1, t.task.branches[*i].when))
                .collect(),
        })?;
        // Every branch whose condition held runs, at the same time; join_all, not
        // try_join_all, so a sibling mid-apply still registers what it applied.
        let runs = chosen.iter().map(|&i| {
            let prefix = format!("{label}.branch#{}", i + 1);
            async move {
                for (j, c) in t.task.branches[i].then.iter().enumerate() {
                    self.exec_step(c, format!("{prefix}.{}", step_label(c, j)), until)
                        .await?;
                }
                Ok::<(), Stop>(())
            }
        });
        let results = join_all(runs).await;
        results.into_iter().find(Result::is_err).unwrap_or(Ok(()))?;
        match t.deadline {
            Some(d) if until.is_some_and(|u| Instant::now() >= u) => self.record(RunEvent::Note {
                message: format!(
                    "step {label}: its deadline ({d}) passed; what still held a fault was recovered and the rest skipped; the run goes on"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Creates the task's pod, waits for its container, reads its log, and deletes it
    /// whatever happened. `((exit code, pod), stdout)`, or `None` when `until` came first.
    async fn run_task_pod(
        &self,
        cluster: &dyn PodCluster,
        t: &TaskStep,
        label: &str,
        until: Option<Instant>,
    ) -> Result<Option<((i32, String), String)>, Stop> {
        let tasks = cluster.tasks();
        let ns = self.task_namespace(&t.task);
        let timeout_at = Instant::now() + t.task.timeout.std();
        let spec = TaskPod {
            namespace: ns.clone(),
            name_prefix: format!("faultline-task-{}-", pod_safe(&self.run)),
            run: self.run.clone(),
            step: label.to_string(),
            container: t.task.container.clone(),
            labels: t.task.labels.clone(),
            active_deadline: t.task.timeout.std(),
        };
        let failed = |source| {
            Stop::error(RunError::Task {
                step: label.to_string(),
                source,
            })
        };
        let name = tasks.create(&spec).await.map_err(failed)?;
        let pod = format!("{ns}/{name}");
        let outcome = self
            .await_task(tasks, &ns, &name, t, label, until, timeout_at)
            .await;
        // Deleted on every path, the abort's included: no task pod outlives its step.
        let deleted = tasks.delete(&ns, &name).await;
        let outcome = outcome?;
        deleted.map_err(failed)?;
        Ok(outcome.map(|(code, stdout)| ((code, pod), stdout)))
    }

    /// Reads the pod until its container exits, then its log.
    #[allow(clippy::too_many_arguments)]
    async fn await_task(
        &self,
        tasks: &dyn TaskPods,
        ns: &str,
        name: &str,
        t: &TaskStep,
        label: &str,
        until: Option<Instant>,
        timeout_at: Instant,
    ) -> Result<Option<(i32, String)>, Stop> {
        let container = t.task.container.name.as_str();
        let failed = |source| {
            Stop::error(RunError::Task {
                step: label.to_string(),
                source,
            })
        };
        self.record(RunEvent::Note {
            message: format!(
                "step {label}: task pod {ns}/{name} created ({}); waiting for it to exit, at most {}",
                t.task.container.image, t.task.timeout
            ),
        })?;
        let code = loop {
            match tasks.state(ns, name, container).await.map_err(failed)? {
                TaskState::Exited(code) => break code,
                TaskState::Ended(why) => {
                    return Err(Stop::error(RunError::TaskEnded {
                        step: label.to_string(),
                        pod: format!("{ns}/{name}"),
                        why,
                    }));
                }
                TaskState::Running => {}
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) {
                return Ok(None);
            }
            if now >= timeout_at {
                return Err(Stop::error(RunError::TaskTimedOut {
                    step: label.to_string(),
                    pod: format!("{ns}/{name}"),
                    timeout: t.task.timeout,
                }));
            }
            let next = earliest(Some(timeout_at.min(now + POLL)), until).unwrap_or(now + POLL);
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                r = self.abort_signal() => return Err(Stop::Aborted(r)),
            }
        };
        let log = tasks
            .stdout(ns, name, container, STDOUT_READ)
            .await
            .map_err(failed)?;
        // Chaos Mesh trims the log before its conditions see it: `echo ok` is "ok".
        Ok(Some((code, log.trim().to_string())))
    }

    /// The task's namespace: its own, else the experiment's, else `default`.
    fn task_namespace(&self, task: &Task) -> String {
        task.namespace
            .clone()
            .or_else(|| self.exp.metadata.namespace.clone())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
    }

    /// Before anything is injected: a task needs the cluster, and may not run in a
    /// namespace the experiment protects. `Ok(Some(reason))` refuses the run.
    pub(super) fn task_guard(&self) -> Result<Option<String>, Stop> {
        let mut found = Vec::new();
        task_steps(&self.exp.spec.steps, "", &mut found);
        let Some((first, _)) = found.first() else {
            return Ok(None);
        };
        if self.opts.cluster.is_none() {
            return Err(Stop::error(RunError::TaskNeedsCluster {
                step: first.clone(),
            }));
        }
        let protected = &self.exp.spec.guard.protected_namespaces;
        Ok(found.iter().find_map(|(label, t)| {
            let ns = self.task_namespace(&t.task);
            protected.contains(&ns).then(|| {
                format!(
                    "guard: task {label} would run a pod in namespace `{ns}`, which is protected (spec.guard.protectedNamespaces); nothing injected"
                )
            })
        }))
    }
}

/// Every task step under `steps`, with the label the engine gives it.
fn task_steps<'e>(steps: &'e [Step], prefix: &str, out: &mut Vec<(String, &'e TaskStep)>) {
    for (i, s) in steps.iter().enumerate() {
        let label = match prefix {
            "" => step_label(s, i),
            p => format!("{p}.{}", step_label(s, i)),
        };
        match s {
            Step::Task(t) => {
                out.push((label.clone(), t));
                for (n, b) in t.task.branches.iter().enumerate() {
                    task_steps(&b.then, &format!("{label}.branch#{}", n + 1), out);
                }
            }
            Step::Serial(g) | Step::Parallel(g) => task_steps(&g.steps, &label, out),
            _ => {}
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The run id as a pod name may hold it: lowercase letters and digits, at most 12.
fn pod_safe(run: &str) -> String {
    run.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect()
}
