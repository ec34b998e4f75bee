//! Task steps' pods (cluster mode): one pod per task, created, watched until its
//! container exits, its log read, then deleted. The `kube` adapter implements this over
//! the API server; the engine never sees a Kubernetes type.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_spec::task::TaskContainer;
use futures::future::BoxFuture;

/// The label every task pod carries with its run's id, so whatever a run left can be
/// found and deleted.
pub const RUN_LABEL: &str = "faultline.dev/run";

/// Why a task pod could not be created, read or deleted.
#[derive(Debug, thiserror::Error)]
pub enum TaskPodError {
    /// The namespace is one the service protects; nothing was created.
    #[error("guard: {0}")]
    Guard(String),
    /// The Kubernetes adapter failed (the API server, the object).
    #[error(transparent)]
    Kubernetes(Box<dyn std::error::Error + Send + Sync>),
}

/// What to create.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPod {
    /// Where.
    pub namespace: String,
    /// The pod's name prefix (the API server completes it).
    pub name_prefix: String,
    /// The run it belongs to (the [`RUN_LABEL`] value).
    pub run: String,
    /// The step, as the run's events name it (an annotation: labels allow fewer
    /// characters).
    pub step: String,
    /// The one container.
    pub container: TaskContainer,
    /// The task's own labels.
    pub labels: BTreeMap<String, String>,
    /// `activeDeadlineSeconds`: the kubelet stops the pod past it, even if no run is
    /// left to delete it.
    pub active_deadline: Duration,
}

/// Where a task pod's container is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Not started or still running.
    Running,
    /// It exited with this code (`containerStatuses[].state.terminated.exitCode`).
    Exited(i32),
    /// The pod ended without the container's exit code (evicted, its deadline passed
    /// before the container started): why.
    Ended(String),
}

/// The pods of task steps.
pub trait TaskPods: Send + Sync {
    /// Creates `pod`; the name the API server gave it.
    fn create<'a>(&'a self, pod: &'a TaskPod) -> BoxFuture<'a, Result<String, TaskPodError>>;

    /// Where container `container` of pod `ns/name` is.
    fn state<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        container: &'a str,
    ) -> BoxFuture<'a, Result<TaskState, TaskPodError>>;

    /// The first `limit_bytes` of the log of container `container`.
    fn stdout<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        container: &'a str,
        limit_bytes: usize,
    ) -> BoxFuture<'a, Result<String, TaskPodError>>;

    /// Deletes pod `ns/name` at once (grace period 0: the task is done or abandoned); a
    /// pod already gone counts as deleted.
    fn delete<'a>(&'a self, ns: &'a str, name: &'a str) -> BoxFuture<'a, Result<(), TaskPodError>>;
}
