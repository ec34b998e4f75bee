//! A pod as the run reads it back after a pod fault (podKill, podFailure): who it is
//! (uid), whether it is going (`deletionTimestamp`), who made it, and the images its spec
//! asks for and its containers run. The engine decides from these whether the fault is
//! seen; the `kube` adapter only reads.

use chrono::{DateTime, Utc};

/// The controller that made a pod (its `ownerReferences` entry with `controller: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodOwner {
    /// `ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, ...
    pub kind: String,
    /// Its name.
    pub name: String,
}

impl std::fmt::Display for PodOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// One pod as the API server shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRead {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`: a pod recreated under the same name (a StatefulSet's) has another.
    pub uid: String,
    /// `metadata.creationTimestamp`.
    pub created: Option<DateTime<Utc>>,
    /// `metadata.deletionTimestamp` is set: the pod is terminating.
    pub terminating: bool,
    /// `status.phase`.
    pub phase: String,
    /// Its controller.
    pub owner: Option<PodOwner>,
    /// `spec.containers`: (name, image).
    pub images: Vec<(String, String)>,
    /// `status.containerStatuses`: (name, image the container runs).
    pub running: Vec<(String, String)>,
}
