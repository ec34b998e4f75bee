//! Faults on Kubernetes pods (cluster mode): podKill and podFailure through the API, every
//! other kind sent to the agent of each chosen pod's node with the pods' container IDs as
//! targets. Each pod gets its own `FaultApplied` (target `pod NS/NAME`), and every fault is
//! registered before it is applied, so the step end, an abort and the final sweep recover
//! it through the same [`Place`] it was applied through.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use faultline_agent::faults::FaultId;
use faultline_agent::protocol::ApplyRequest;
use faultline_spec::{FaultKind, FaultStep, LocalTarget, NodeFault, PodSelector};
use futures::StreamExt;
use futures::future::join_all;

use super::machine::{Active, Runner};
use super::place::{FailedPod, POD_CONCURRENCY, Place};
use super::stop::{RunError, Stop};
use crate::application::engine::inject::KUBERNETES_API;
use crate::application::ports::{ClusterError, Killed, PodCluster, PodTarget};
use crate::domain::RunEvent;

impl Runner {
    /// The guard in cluster mode, before anything is injected: each Kubernetes target is
    /// listed and checked against the protected namespaces and `maxTargets`/`maxPercent`.
    /// `Ok(Some(reason))` refuses the run.
    pub(super) async fn cluster_guard(&self) -> Result<Option<String>, Stop> {
        let targets = crate::application::engine::plan::kubernetes_targets(&self.exp);
        if targets.is_empty() {
            return Ok(None);
        }
        let Some(cluster) = self.opts.cluster.as_deref() else {
            return Err(Stop::error(RunError::ClusterModeNeeded));
        };
        for sel in targets {
            match cluster
                .check(sel, self.namespace(), &self.exp.spec.guard)
                .await
            {
                Ok(_) => {}
                Err(e @ ClusterError::Guard(_)) => {
                    return Ok(Some(format!("{e}; nothing injected")));
                }
                Err(e) => {
                    return Err(Stop::error(RunError::ClusterCheck(e)));
                }
            }
        }
        Ok(None)
    }

    fn namespace(&self) -> Option<&str> {
        self.exp.metadata.namespace.as_deref()
    }

    /// Runs one fault step against pods.
    pub(super) async fn exec_pod_fault(
        &self,
        f: &FaultStep,
        sel: &PodSelector,
        label: String,
    ) -> Result<(), Stop> {
        let cluster = self.opts.cluster.as_deref().ok_or_else(|| {
            Stop::error(RunError::StepNeedsCluster {
                step: label.clone(),
            })
        })?;
        let fail = |source: ClusterError| {
            Stop::error(RunError::Cluster {
                step: label.clone(),
                source,
            })
        };
        let sel_result = cluster
            .select(sel, self.namespace(), &self.exp.spec.guard)
            .await
            .map_err(fail)?;
        if sel_result.chosen.is_empty() {
            self.record(RunEvent::Note {
                message: format!(
                    "step {label}: mode {} chose none of the {} pods matching {}",
                    sel.mode, sel_result.matched, sel_result.described
                ),
            })?;
            self.enter_observing(&label)?;
            return self
                .wait(f.duration.map(|d| d.std()).unwrap_or_default())
                .await;
        }
        let id = self.next_fault_id();
        let pods = sel_result.chosen;
        match (&f.fault, f.fault.to_node()) {
            (FaultKind::PodKill(k), _) => {
                self.kill_pods(cluster, &id, k.grace_period.map(|d| d.std()), &pods, &label)
                    .await
            }
            (FaultKind::PodFailure(p), _) => {
                self.fail_pods(cluster, &id, &p.container_names, pods, &label)
                    .await?;
                self.enter_observing(&label)?;
                self.wait(f.duration.map(|d| d.std()).unwrap_or_default())
                    .await?;
                self.recover_one(&id).await
            }
            (_, Some(kind)) => {
                let kind = &self.resolve_peers(cluster, kind, &label).await?;
                let ids = self
                    .apply_on_agents(cluster, &id, kind, &pods, &label)
                    .await?;
                self.enter_observing(&label)?;
                if kind.is_instant() {
                    for id in &ids {
                        self.forget(id);
                    }
                    return Ok(());
                }
                self.wait(f.duration.map(|d| d.std()).unwrap_or_default())
                    .await?;
                self.recover_each(&ids).await
            }
            (kind, None) => Err(Stop::error(RunError::NoKubernetesImplementation {
                step: label,
                kind: kind.name().to_string(),
            })),
        }
    }

    async fn kill_pods(
        &self,
        cluster: &dyn PodCluster,
        id: &FaultId,
        grace: Option<std::time::Duration>,
        pods: &[PodTarget],
        label: &str,
    ) -> Result<(), Stop> {
        let grace = grace.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        // The futures are built before they go into the stream: a closure returning a
        // borrowing future inside `buffered` defeats the Send inference of the step future.
        let kills: Vec<_> = pods
            .iter()
            .map(|p| cluster.kill_pod(&p.namespace, &p.name, grace))
            .collect();
        let results: Vec<_> = futures::stream::iter(kills)
            .buffered(POD_CONCURRENCY)
            .collect()
            .await;
        let mut first_err = None;
        let mut evs = Vec::new();
        for ((n, p), result) in pods.iter().enumerate().zip(results) {
            let fault = format!("{id}-{n}");
            match result {
                Ok(killed) => {
                    evs.push(RunEvent::FaultApplied {
                        fault: fault.clone(),
                        kind: "podKill".into(),
                        target: p.label(),
                        step: label.to_string(),
                        agent: KUBERNETES_API.into(),
                        node: p.node.clone(),
                    });
                    let outcome = match killed {
                        Killed::Deleted => "instant",
                        Killed::AlreadyGone => "alreadyGone",
                    };
                    evs.push(RunEvent::FaultRecovered {
                        fault,
                        outcome: outcome.into(),
                    });
                }
                Err(source) => {
                    first_err.get_or_insert_with(|| RunError::Cluster {
                        step: label.to_string(),
                        source,
                    });
                }
            }
        }
        self.record_all(evs)?;
        self.enter_observing(label)?;
        first_err.map_or(Ok(()), |e| Err(Stop::error(e)))
    }

    async fn fail_pods(
        &self,
        cluster: &dyn PodCluster,
        id: &FaultId,
        containers: &[String],
        pods: Vec<PodTarget>,
        label: &str,
    ) -> Result<(), Stop> {
        let failed: Vec<FailedPod> = pods
            .into_iter()
            .enumerate()
            .map(|(n, pod)| FailedPod {
                pod,
                event: format!("{id}-{n}"),
                record: None,
            })
            .collect();
        // Registered before the first patch: a stop mid-way restores every pod, and
        // restoring one that was never patched finds no annotation and is a no-op.
        self.register(id.clone(), label, Place::PodFailure(failed.clone()));
        let pf_lease = super::place::pod_failure_lease(self.opts.lease);
        let expires = Utc::now() + chrono::Duration::from_std(pf_lease).unwrap_or_default();
        let injector = cluster.pod_failure();
        let fault = id.to_string();
        let patches: Vec<_> = failed
            .iter()
            .map(|fp| injector.fail(&fp.pod.namespace, &fp.pod.name, containers, &fault, expires))
            .collect();
        let results: Vec<_> = futures::stream::iter(patches)
            .buffered(POD_CONCURRENCY)
            .collect()
            .await;
        let mut patched = failed;
        let mut first_err = None;
        for (fp, r) in patched.iter_mut().zip(results) {
            match r {
                Ok(record) => fp.record = Some(record),
                Err(source) => {
                    first_err.get_or_insert_with(|| RunError::Cluster {
                        step: label.to_string(),
                        source,
                    });
                }
            }
        }
        self.replace_place(id, Place::PodFailure(patched.clone()));
        self.record_all(
            patched
                .iter()
                .filter(|fp| fp.record.is_some())
                .map(|fp| RunEvent::FaultApplied {
                    fault: fp.event.clone(),
                    kind: "podFailure".into(),
                    target: fp.pod.label(),
                    step: label.to_string(),
                    agent: KUBERNETES_API.into(),
                    node: fp.pod.node.clone(),
                })
                .collect(),
        )?;
        first_err.map_or(Ok(()), |e| Err(Stop::error(e)))
    }

    /// A network fault's `peerSelector` (NetworkChaos `target`) resolved to the peer pods'
    /// IPs, added to `peers`: the agent only knows addresses. A selector that yields no IP
    /// is an error — for a partition, no peers would mean all traffic.
    async fn resolve_peers(
        &self,
        cluster: &dyn PodCluster,
        mut kind: NodeFault,
        label: &str,
    ) -> Result<NodeFault, Stop> {
        let Some(scope) = kind.scope_mut() else {
            return Ok(kind);
        };
        let Some(sel) = scope.peer_selector.take() else {
            return Ok(kind);
        };
        let peers = cluster
            .select_peers(&sel, self.namespace())
            .await
            .map_err(|source| {
                Stop::error(RunError::PeerSelector {
                    step: label.to_string(),
                    source,
                })
            })?;
        let ips: Vec<ipnet::IpNet> = peers
            .chosen
            .iter()
            .flat_map(|p| p.ips.iter().copied().map(ipnet::IpNet::from))
            .collect();
        if ips.is_empty() {
            return Err(Stop::error(RunError::PeersWithoutIp {
                step: label.to_string(),
                chosen: peers.chosen.len(),
                described: peers.described,
            }));
        }
        for ip in ips {
            if !scope.peers.contains(&ip) {
                scope.peers.push(ip);
            }
        }
        Ok(kind)
    }

    /// Sends `kind` to the agent of every node the pods run on, one request per node
    /// (`<id>n<k>`), targets being the pods' container IDs. Returns the request ids.
    async fn apply_on_agents(
        &self,
        cluster: &dyn PodCluster,
        id: &FaultId,
        kind: &NodeFault,
        pods: &[PodTarget],
        label: &str,
    ) -> Result<Vec<FaultId>, Stop> {
        let fail = |source: ClusterError| {
            Stop::error(RunError::Cluster {
                step: label.to_string(),
                source,
            })
        };
        let mut by_node: BTreeMap<String, Vec<(LocalTarget, &PodTarget)>> = BTreeMap::new();
        for p in pods {
            let node = p.node.clone().ok_or_else(|| {
                fail(ClusterError::NoAgent {
                    target: p.label(),
                    message: "not scheduled on a node yet".into(),
                })
            })?;
            for t in p.agent_targets(kind).map_err(fail)? {
                by_node.entry(node.clone()).or_default().push((t, p));
            }
        }
        let nodes: BTreeSet<String> = by_node.keys().cloned().collect();
        let agents = cluster.agents().for_nodes(&nodes).await.map_err(fail)?;
        let mut calls = Vec::new();
        for (k, (node, targets)) in by_node.iter().enumerate() {
            let Some(agent) = agents.get(node) else {
                continue;
            };
            let req_id = FaultId::new(format!("{id}n{k}")).map_err(|reason| {
                Stop::error(RunError::FaultId {
                    step: label.to_string(),
                    reason,
                })
            })?;
            self.register(
                req_id.clone(),
                label,
                Place::Agent {
                    client: agent.client.clone(),
                    node: node.clone(),
                },
            );
            let req = ApplyRequest {
                id: req_id.clone(),
                kind: kind.clone(),
                targets: targets.iter().map(|(t, _)| t.clone()).collect(),
                lease_seconds: self.opts.lease.as_secs().max(1),
            };
            let client = agent.client.clone();
            let who = format!("agent {} ({}) on node {node}", agent.pod, agent.url);
            let parent = self.trace_starting(&req_id);
            let at = (agent.url.clone(), node.clone());
            calls.push(async move {
                let result = client.apply_under(&req, parent.as_ref()).await;
                (req_id, who, at, targets, result)
            });
        }
        let mut ids = Vec::new();
        let mut first_err = None;
        for (req_id, who, (url, node), targets, result) in join_all(calls).await {
            ids.push(req_id);
            match result {
                Ok(resp) => {
                    let mut evs = Vec::with_capacity(resp.records.len());
                    for (rec, (_, pod)) in resp.records.iter().zip(targets.iter()) {
                        evs.push(RunEvent::FaultApplied {
                            fault: rec.id.to_string(),
                            kind: kind.name().into(),
                            target: pod.label(),
                            step: label.to_string(),
                            agent: url.clone(),
                            node: Some(node.clone()),
                        });
                        if kind.is_instant() {
                            evs.push(RunEvent::FaultRecovered {
                                fault: rec.id.to_string(),
                                outcome: "instant".into(),
                            });
                        }
                    }
                    self.record_all(evs)?;
                }
                Err(source) => {
                    first_err.get_or_insert_with(|| RunError::AgentApply {
                        step: label.to_string(),
                        agent: who,
                        source,
                    });
                }
            }
        }
        first_err.map_or(Ok(ids), |e| Err(Stop::error(e)))
    }

    pub(super) fn register(&self, id: FaultId, step: &str, place: Place) {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Active {
                id,
                step: step.to_string(),
                place,
            });
    }

    fn replace_place(&self, id: &FaultId, place: Place) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = active.iter_mut().find(|a| &a.id == id) {
            a.place = place;
        }
    }
}

/// True when a network fault names peers by `peerSelector`, which only cluster mode can
/// resolve.
pub(super) fn has_peer_selector(kind: &FaultKind) -> bool {
    kind.scope().is_some_and(|s| s.peer_selector.is_some())
}
