//! The cluster as the application's [`NodeFaults`] port: each method forwards to
//! `nodes.rs` (selection, cordon, taint, restore) or `drain.rs` (evictions), and
//! Kubernetes errors become [`NodeFaultError`]s as in `ports.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_spec::{Guard, PodSelector};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::cluster::Cluster;
use super::drain::evict_all;
use super::error::KubeError;
use crate::application::ports::{
    Eviction, NodeChange, NodeFaultError, NodeFaults, NodeRestored, NodeSelection, NodeState,
    ZoneNodes,
};

impl NodeFaults for Cluster {
    fn check<'a>(
        &'a self,
        sel: &'a PodSelector,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<usize, NodeFaultError>> {
        self.node_faults()
            .check(sel, guard)
            .map(|r| r.map_err(node_error))
            .boxed()
    }

    fn select<'a>(
        &'a self,
        sel: &'a PodSelector,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<NodeSelection, NodeFaultError>> {
        self.node_faults()
            .select(sel, guard)
            .map(|r| r.map_err(node_error))
            .boxed()
    }

    fn zone<'a>(
        &'a self,
        label: &'a str,
        zone: &'a str,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<ZoneNodes, NodeFaultError>> {
        self.node_faults()
            .zone(label, zone, guard)
            .map(|r| r.map_err(node_error))
            .boxed()
    }

    fn apply<'a>(
        &'a self,
        name: &'a str,
        change: &'a NodeChange,
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), NodeFaultError>> {
        self.node_faults()
            .apply(name, change, fault, expires)
            .map(|r| r.map_err(node_error))
            .boxed()
    }

    fn renew<'a>(
        &'a self,
        name: &'a str,
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), NodeFaultError>> {
        self.node_faults()
            .renew(name, fault, expires)
            .map(|r| r.map_err(node_error))
            .boxed()
    }

    fn restore<'a>(
        &'a self,
        name: &'a str,
        fault: Option<&'a str>,
    ) -> BoxFuture<'a, Result<NodeRestored, NodeFaultError>> {
        self.node_faults()
            .restore(name, fault)
            .map(|r| r.map_err(node_error))
            .boxed()
    }

    fn evict_all<'a>(
        &'a self,
        name: &'a str,
        grace_seconds: Option<u32>,
        retry_for: Duration,
        protected: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Eviction>, NodeFaultError>> {
        let mut all = self.protected_namespaces().to_vec();
        all.extend(protected.iter().cloned());
        async move {
            evict_all(self.client(), name, &all, grace_seconds, retry_for)
                .await
                .map_err(node_error)
        }
        .boxed()
    }

    fn read<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<NodeState>, NodeFaultError>> {
        self.node_faults()
            .read(name)
            .map(|r| r.map_err(node_error))
            .boxed()
    }
}

/// A guard refusal by name, anything else boxed as it is.
fn node_error(e: KubeError) -> NodeFaultError {
    match e {
        KubeError::Guard(why) => NodeFaultError::Guard(why),
        other => NodeFaultError::Kubernetes(Box::new(other)),
    }
}
