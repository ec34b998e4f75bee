//! The cluster as the application's [`NodeFaults`] port: each method forwards to
//! `nodes.rs` (selection, cordon, taint, restore) or `drain.rs` (evictions), and
//! Kubernetes errors become [`ClusterError`]s as in `ports.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_spec::{Guard, PodSelector};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::cluster::Cluster;
use super::drain::evict_all;
use crate::application::ports::{
    ClusterError, Eviction, NodeChange, NodeFaults, NodeSelection, NodeState, Restored, ZoneNodes,
};

impl NodeFaults for Cluster {
    fn check<'a>(
        &'a self,
        sel: &'a PodSelector,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<usize, ClusterError>> {
        self.node_faults()
            .check(sel, guard)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn select<'a>(
        &'a self,
        sel: &'a PodSelector,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<NodeSelection, ClusterError>> {
        self.node_faults()
            .select(sel, guard)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn zone<'a>(
        &'a self,
        label: &'a str,
        zone: &'a str,
        guard: &'a Guard,
    ) -> BoxFuture<'a, Result<ZoneNodes, ClusterError>> {
        self.node_faults()
            .zone(label, zone, guard)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn apply<'a>(
        &'a self,
        name: &'a str,
        change: &'a NodeChange,
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        self.node_faults()
            .apply(name, change, fault, expires)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn renew<'a>(
        &'a self,
        name: &'a str,
        fault: &'a str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        self.node_faults()
            .renew(name, fault, expires)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn restore<'a>(
        &'a self,
        name: &'a str,
        fault: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Restored, ClusterError>> {
        self.node_faults()
            .restore(name, fault)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }

    fn evict_all<'a>(
        &'a self,
        name: &'a str,
        grace_seconds: Option<u32>,
        retry_for: Duration,
    ) -> BoxFuture<'a, Result<Vec<Eviction>, ClusterError>> {
        evict_all(
            self.client(),
            name,
            self.protected_namespaces(),
            grace_seconds,
            retry_for,
        )
        .map(|r| r.map_err(ClusterError::from))
        .boxed()
    }

    fn read<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<NodeState>, ClusterError>> {
        self.node_faults()
            .read(name)
            .map(|r| r.map_err(ClusterError::from))
            .boxed()
    }
}
