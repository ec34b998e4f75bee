//! The native task step: `task: { container, namespace, labels, timeout, branches }`,
//! with the step's own `name` and `deadline` beside it.
//!
//! Generic over the step type `S` of the branches (always `experiment::Step`, named so by
//! the aliases in `task/mod.rs`), so this file need not import the module that holds
//! `Step`, which holds these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::expr::{Condition, TaskOutcome};
use crate::units::Duration;

/// A task and the bounds of the step that runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStep<S> {
    /// A name for reports; default `task#N`.
    pub name: Option<String>,
    /// What runs, and what follows.
    pub task: Task<S>,
    /// The task and the branches it picks end when this has passed since it started:
    /// a container still running is deleted and no branch runs; a branch holding a fault
    /// is recovered (Chaos Mesh's `deadline` on a Task node).
    pub deadline: Option<Duration>,
}

/// One container run to completion, then the branches whose condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    bound(serialize = "S: Serialize", deserialize = "S: Deserialize<'de>")
)]
pub struct Task<S> {
    /// The container.
    pub container: TaskContainer,
    /// Where its pod runs; default the experiment's `metadata.namespace`, else `default`
    /// (where Chaos Mesh runs it for a Workflow without a namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels added to the pod, beside faultline's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The longest the container may take, from the pod's creation (image pull
    /// included); past it the pod is deleted and the run ends `error`. Also the pod's
    /// `activeDeadlineSeconds`, so the kubelet stops it even if faultline is gone.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Checked in order once the container has exited. Every branch whose condition
    /// holds runs, at the same time; when none holds the step ends (Chaos Mesh's
    /// conditional branches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Branch<S>>,
}

/// A task's `timeout` when it gives none: five minutes, enough to pull an image and run
/// a check, short enough that a pod stuck pulling does not hold the run for long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

const fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

impl<S> Task<S> {
    /// The indexes of the branches that run after `outcome`, in order.
    pub fn chosen(&self, outcome: TaskOutcome<'_>) -> Vec<usize> {
        (0..self.branches.len())
            .filter(|i| self.branches[*i].when.holds(outcome))
            .collect()
    }
}

/// The subset of a Kubernetes container a task runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskContainer {
    /// Container name; default [`TaskContainer::DEFAULT_NAME`].
    #[serde(default = "TaskContainer::default_name")]
    pub name: String,
    /// The image.
    pub image: String,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables, in order (Kubernetes expands `$(NAME)` of earlier ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `Always`, `IfNotPresent` or `Never`; default Kubernetes' own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
}

impl TaskContainer {
    /// The name of a container that gives none.
    pub const DEFAULT_NAME: &'static str = "task";

    /// [`TaskContainer::DEFAULT_NAME`], for serde.
    pub fn default_name() -> String {
        Self::DEFAULT_NAME.to_string()
    }
}

/// One environment variable (a literal value: `valueFrom` is not supported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value.
    #[serde(default)]
    pub value: String,
}

/// Steps that run after the task when `when` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(serialize = "S: Serialize", deserialize = "S: Deserialize<'de>")
)]
pub struct Branch<S> {
    /// The condition over `exitCode` and `stdout`.
    pub when: Condition,
    /// The steps, one after the other.
    pub then: Vec<S>,
}
