//! The cluster as the application's ports: each forwards to this adapter's own method of
//! the same name, and Kubernetes errors become [`ClusterError`]s — the guard, agent and
//! container refusals by name, everything else boxed as it is.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use faultline_spec::{Guard, PodSelector};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::agents::AgentDirectory;
use super::cluster::Cluster;
use super::error::KubeError;
use super::pod_failure::PodFailureInjector;
use super::pod_kill::kill_pod;
use super::pod_read::{owned_pods, read_pod};
use super::task_pod::TaskPodRunner;
use crate::application::ports::{
    ClusterError, DiscoveredAgent, Killed, NodeAgent, NodeAgents, OriginalImages, PodCluster,
    PodFailures, PodOwner, PodRead, Restored, Selection, TaskPod, TaskPodError, TaskPods,
    TaskState,
};

impl From<KubeError> for ClusterError {
    fn from(e: KubeError) -> ClusterError {
        match e {
            KubeError::Guard(why) => ClusterError::Guard(why),
            KubeError::NoAgent { target, message } => ClusterError::NoAgent { target, message },
            KubeError::NoContainer { pod, message } => ClusterError::NoContainer { pod, message },
            other => ClusterError::Kubernetes(Box::new(other)),
        }
    }
}

impl PodCluster for Cluster {
    fn check<'a>(
        &'a self,
        sel: &'a PodSelector,
        experiment_ns: Option<&'a str>,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<usize, ClusterError>> {
        Cluster::check(self, sel, experiment_ns, guard)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn select<'a>(
        &'a self,
        sel: &'a PodSelector,
        experiment_ns: Option<&'a str>,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<Selection, ClusterError>> {
        Cluster::select(self, sel, experiment_ns, guard)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn select_peers<'a>(
        &'a self,
        sel: &'a PodSelector,
        experiment_ns: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Selection, ClusterError>> {
        Cluster::select_peers(self, sel, experiment_ns)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn kill_pod<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        grace_seconds: Option<u32>,
    ) -> BoxFuture<'a, Result<Killed, ClusterError>> {
        kill_pod(self.client(), ns, name, grace_seconds)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn read_pod<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<PodRead>, ClusterError>> {
        read_pod(self.resolver(), ns, name)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn owned_pods<'a>(
        &'a self,
        ns: &'a str,
        owner: &'a PodOwner,
    ) -> BoxFuture<'a, Result<Vec<PodRead>, ClusterError>> {
        owned_pods(self.resolver(), ns, owner)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn pod_failure(&self) -> &dyn PodFailures {
        Cluster::pod_failure(self)
    }

    fn agents(&self) -> &dyn NodeAgents {
        Cluster::agents(self)
    }

    fn tasks(&self) -> &dyn TaskPods {
        Cluster::tasks(self)
    }

    fn leads(&self) -> Option<bool> {
        Cluster::leads(self)
    }

    fn nodes(&self) -> Option<&dyn crate::application::ports::NodeFaults> {
        Some(self)
    }
}

impl PodFailures for PodFailureInjector {
    fn fail<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        containers: &'a [String],
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<OriginalImages, ClusterError>> {
        PodFailureInjector::fail(self, ns, name, containers, fault, expires)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn renew<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        record: &'a OriginalImages,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        PodFailureInjector::renew(self, ns, name, record)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn pause_image(&self) -> &str {
        PodFailureInjector::pause_image(self)
    }

    fn restore<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Restored, ClusterError>> {
        PodFailureInjector::restore(self, ns, name)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }
}

impl NodeAgents for AgentDirectory {
    fn for_nodes<'a>(
        &'a self,
        nodes: &'a BTreeSet<String>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, NodeAgent>, ClusterError>> {
        AgentDirectory::for_nodes(self, nodes)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn discover(&self) -> BoxFuture<'_, Result<Vec<DiscoveredAgent>, ClusterError>> {
        AgentDirectory::discover(self)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn token(&self) -> Option<String> {
        self.settings().token.clone()
    }

    fn tls(&self) -> Option<faultline_agent::tls::ClientTls> {
        AgentDirectory::tls(self).cloned()
    }
}

impl From<KubeError> for TaskPodError {
    fn from(e: KubeError) -> TaskPodError {
        match e {
            KubeError::Guard(why) => TaskPodError::Guard(why),
            other => TaskPodError::Kubernetes(Box::new(other)),
        }
    }
}

impl TaskPods for TaskPodRunner {
    fn create<'a>(&'a self, pod: &'a TaskPod) -> BoxFuture<'a, Result<String, TaskPodError>> {
        TaskPodRunner::create(self, pod)
            .map(|r| r.map_err(TaskPodError::from))
            .boxed()
    }

    fn state<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        container: &'a str,
    ) -> BoxFuture<'a, Result<TaskState, TaskPodError>> {
        TaskPodRunner::state(self, ns, name, container)
            .map(|r| r.map_err(TaskPodError::from))
            .boxed()
    }

    fn stdout<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
        container: &'a str,
        limit_bytes: usize,
    ) -> BoxFuture<'a, Result<String, TaskPodError>> {
        TaskPodRunner::stdout(self, ns, name, container, limit_bytes)
            .map(|r| r.map_err(TaskPodError::from))
            .boxed()
    }

    fn delete<'a>(&'a self, ns: &'a str, name: &'a str) -> BoxFuture<'a, Result<(), TaskPodError>> {
        TaskPodRunner::delete(self, ns, name)
            .map(|r| r.map(|_| ()).map_err(TaskPodError::from))
            .boxed()
    }
}
