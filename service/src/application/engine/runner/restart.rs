//! After a restart: the faults a dead process left active, as the store recorded them
//! before applying them, each confirmed recovered through the executor that applied it —
//! an agent recovers by id (the in-process one already did, from its journal, when it
//! opened), podFailure's pods are restored — and the outcome recorded on its run. What
//! cannot be confirmed stays recorded for the next start-up; its lease bounds it meanwhile.

use std::collections::BTreeSet;
use std::sync::Arc;

use faultline_agent::agent::error_chain;
use faultline_agent::faults::FaultId;

use super::executor::{AnyExecutor, ExecError, Executor, InProcess, Kubernetes, NodeApi, Remote};
use crate::application::engine::inject::Injector;
use crate::application::ports::{PodCluster, RunStore, StoreError};
use crate::domain::{ActiveFault, ExecutorRef, RunEvent};

/// What start-up did with one fault a previous process left active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The run.
    pub run: String,
    /// The fault request.
    pub fault: String,
    /// Who carried it out (`in-process`, an agent's URL, `kubernetes-api`).
    pub executor: String,
    /// What was found.
    pub outcome: Outcome,
}

/// Whether a fault left active was confirmed recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recovered through its executor; how many of its targets were still open.
    Recovered {
        /// Targets recorded recovered now (0: the run had recorded them all).
        targets: usize,
    },
    /// Its executor could not be reached or refused; retried at the next start-up, and
    /// bounded by its lease meanwhile.
    Unconfirmed {
        /// Why, with its causes, as the run's note says it.
        reason: String,
    },
}

impl Outcome {
    /// True when the fault was confirmed recovered.
    pub fn is_recovered(&self) -> bool {
        matches!(self, Outcome::Recovered { .. })
    }
}

/// Confirms every fault the store holds as active recovered, through `injector` (the
/// run's own agent) or `cluster`, and records on each run what was found: a
/// `FaultRecovered` per target still open, and a note. Call it before the interrupted
/// runs are ended.
pub async fn confirm_recovered(
    store: &dyn RunStore,
    injector: &Injector,
    cluster: Option<&Arc<dyn PodCluster>>,
) -> Result<Vec<Confirmation>, StoreError> {
    let mut done = Vec::new();
    for (run, active) in store.active_faults()? {
        let result = match reach(&active, injector, cluster).await {
            Ok(exec) => match FaultId::new(active.fault.clone()) {
                Ok(id) => exec.recover(&id, None).await.map_err(|e| error_chain(&e)),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(error_chain(&e)),
        };
        let events = match &result {
            Ok(recovered) => recovered_events(store, &run, &active, recovered)?,
            Err(why) => vec![RunEvent::Note {
                message: format!(
                    "after a restart: fault {} ({}, step {}) could not be confirmed recovered through {}: {why}; its lease (until {}) bounds it",
                    active.fault,
                    active.kind,
                    active.step,
                    active.executor.name(),
                    active.expires.to_rfc3339()
                ),
            }],
        };
        store.record_all(&run, &events)?;
        if result.is_ok() {
            store.fault_ended(&run, &active.fault)?;
        }
        done.push(Confirmation {
            run,
            fault: active.fault.clone(),
            executor: active.executor.name().to_string(),
            outcome: match result {
                Ok(r) => Outcome::Recovered { targets: r.len() },
                Err(reason) => Outcome::Unconfirmed { reason },
            },
        });
    }
    Ok(done)
}

/// The events of a confirmed recovery: a `FaultRecovered` for each target the executor
/// recovered — even one whose `FaultApplied` the dead process never got to record (it died
/// between the apply and the event) — and for each target still open that it no longer
/// knows of (its lease lapsed, its agent restarted): `alreadyGone`. Targets already
/// recorded recovered are not repeated. Then a note.
fn recovered_events(
    store: &dyn RunStore,
    run: &str,
    active: &ActiveFault,
    recovered: &[(String, String)],
) -> Result<Vec<RunEvent>, StoreError> {
    let mut open: Vec<String> = Vec::new();
    let mut closed = BTreeSet::new();
    for e in store.events(run)? {
        match e.event {
            RunEvent::FaultApplied { fault, .. } if active.owns(&fault) => open.push(fault),
            RunEvent::FaultRecovered { fault, .. } => {
                closed.insert(fault);
            }
            _ => {}
        }
    }
    open.retain(|f| !closed.contains(f));
    let mut events: Vec<RunEvent> = recovered
        .iter()
        .filter(|(fault, _)| !closed.contains(fault))
        .map(|(fault, outcome)| RunEvent::FaultRecovered {
            fault: fault.clone(),
            outcome: outcome.clone(),
        })
        .collect();
    events.extend(
        open.iter()
            .filter(|f| !recovered.iter().any(|(r, _)| r == *f))
            .map(|fault| RunEvent::FaultRecovered {
                fault: fault.clone(),
                outcome: "alreadyGone".into(),
            }),
    );
    events.push(RunEvent::Note {
        message: format!(
            "after a restart: fault {} ({}, step {}) confirmed recovered through {} ({} target(s))",
            active.fault,
            active.kind,
            active.step,
            active.executor.name(),
            events.len()
        ),
    });
    Ok(events)
}

/// The executor that applied `active`, reached from this process.
async fn reach(
    active: &ActiveFault,
    injector: &Injector,
    cluster: Option<&Arc<dyn PodCluster>>,
) -> Result<AnyExecutor, ExecError> {
    let unreachable = || ExecError::Unreachable {
        executor: active.executor.name().to_string(),
    };
    match (&active.executor, injector) {
        (ExecutorRef::InProcess, Injector::InProcess(agent)) => {
            Ok(AnyExecutor::InProcess(InProcess::new(agent.clone())))
        }
        (ExecutorRef::InProcess, Injector::Remote(_)) => Err(unreachable()),
        (
            ExecutorRef::Agent {
                url: _,
                node: Some(node),
            },
            _,
        ) => {
            // The node's agent now: a restarted agent pod has a new address.
            let cluster = cluster.ok_or_else(unreachable)?;
            let nodes = BTreeSet::from([node.clone()]);
            let agents = cluster.agents().for_nodes(&nodes).await?;
            let agent = agents.get(node).ok_or_else(unreachable)?;
            let who = format!("agent {} ({}) on node {node}", agent.pod, agent.url);
            Ok(AnyExecutor::Remote(Remote::on_node(
                agent.client.clone(),
                agent.url.clone(),
                node.clone(),
                who,
            )))
        }
        (ExecutorRef::Agent { url, node: None }, Injector::Remote(client))
            if client.url() == url.trim_end_matches('/') =>
        {
            Ok(AnyExecutor::Remote(Remote::new(client.clone())))
        }
        (ExecutorRef::Agent { .. }, _) => Err(unreachable()),
        (ExecutorRef::Nodes { nodes }, _) => {
            let cluster = cluster.ok_or(ExecError::NoCluster)?;
            let id = FaultId::new(active.fault.clone()).map_err(|_| unreachable())?;
            Ok(AnyExecutor::Nodes(NodeApi::adopt(
                cluster.clone(),
                &id,
                nodes,
            )))
        }
        (ExecutorRef::Kubernetes { pods }, _) => {
            let cluster = cluster.ok_or(ExecError::NoCluster)?;
            let id = FaultId::new(active.fault.clone()).map_err(|_| unreachable())?;
            Ok(AnyExecutor::Kubernetes(Kubernetes::adopt(
                cluster.clone(),
                &id,
                pods,
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RunState;
    use crate::kube::agents::AgentSettings;
    use crate::kube::{Cluster, ClusterConfig};
    use crate::store::Store;
    use chrono::Utc;
    use http::{Request, Response, StatusCode};
    use kube::client::Body;
    use std::time::Duration;

    fn applied(fault: &str, target: &str) -> RunEvent {
        RunEvent::FaultApplied {
            fault: fault.into(),
            kind: "podFailure".into(),
            target: target.into(),
            step: "fail".into(),
            agent: "kubernetes-api".into(),
            node: None,
        }
    }

    fn active(fault: &str, executor: ExecutorRef) -> ActiveFault {
        ActiveFault {
            fault: fault.into(),
            step: "fail".into(),
            kind: "podFailure".into(),
            executor,
            targets: vec!["pod shop/web-1".into()],
            expires: Utc::now(),
        }
    }

    /// A run left in `observing` with fault `r1-f1` recorded active.
    fn interrupted(store: &Store, executor: ExecutorRef) {
        store.create_run("r1", "exp", "{}").unwrap();
        for to in [
            RunState::CheckingBefore,
            RunState::Injecting,
            RunState::Observing,
        ] {
            store
                .record(
                    "r1",
                    &RunEvent::StateChanged {
                        to,
                        reason: String::new(),
                    },
                )
                .unwrap();
        }
        store
            .fault_started("r1", &active("r1-f1", executor))
            .unwrap();
        store
            .record_all(
                "r1",
                &[
                    applied("r1-f1-0", "pod shop/web-1"),
                    applied("r1-f1-1", "x"),
                ],
            )
            .unwrap();
        // One of its targets recovered before the process died.
        store
            .record(
                "r1",
                &RunEvent::FaultRecovered {
                    fault: "r1-f1-1".into(),
                    outcome: "removed".into(),
                },
            )
            .unwrap();
    }

    fn recovered(store: &Store) -> Vec<(String, String)> {
        store
            .events("r1")
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.event {
                RunEvent::FaultRecovered { fault, outcome } => Some((fault, outcome)),
                _ => None,
            })
            .collect()
    }

    /// A cluster over a mock API server, and the handle that answers its requests.
    fn mock_cluster() -> (
        Arc<dyn PodCluster>,
        tower_test::mock::Handle<Request<Body>, Response<Body>>,
    ) {
        let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let cluster: Arc<dyn PodCluster> = Arc::new(Cluster::new(
            kube::Client::new(svc, "default"),
            ClusterConfig::new(AgentSettings {
                namespace: "faultline".into(),
                selector: "app=agent".into(),
                port: 7150,
                token: None,
            }),
        ));
        (cluster, handle)
    }

    async fn in_process(dir: &std::path::Path) -> Injector {
        let agent = faultline_agent::agent::Agent::open(dir.join("agent"))
            .await
            .unwrap();
        Injector::InProcess(Arc::new(agent))
    }

    #[tokio::test]
    async fn a_pod_failure_left_active_is_restored_through_the_cluster_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_memory().unwrap();
        interrupted(
            &store,
            ExecutorRef::Kubernetes {
                pods: vec!["shop/web-1".into()],
            },
        );
        let (cluster, mut handle) = mock_cluster();
        let server = tokio::spawn(async move {
            let (req, send) = handle
                .next_request()
                .await
                .expect("the restore reads the pod");
            assert_eq!(req.method(), http::Method::GET);
            assert_eq!(req.uri().path(), "/api/v1/namespaces/shop/pods/web-1");
            let gone = serde_json::json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "pods \"web-1\" not found", "reason": "NotFound", "details": { "name": "web-1", "kind": "pods" }, "code": 404 });
            let mut res = Response::new(Body::from(serde_json::to_vec(&gone).unwrap()));
            *res.status_mut() = StatusCode::NOT_FOUND;
            send.send_response(res);
            assert!(handle.next_request().await.is_none(), "nothing else");
        });
        let injector = in_process(dir.path()).await;
        let done = confirm_recovered(&store, &injector, Some(&cluster))
            .await
            .unwrap();
        drop(cluster);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].executor, "kubernetes-api");
        assert_eq!(done[0].outcome, Outcome::Recovered { targets: 1 });
        // Only the target still open gets its outcome; the recorded one is not repeated.
        assert_eq!(
            recovered(&store),
            [
                ("r1-f1-1".to_string(), "removed".to_string()),
                ("r1-f1-0".to_string(), "targetGone".to_string())
            ]
        );
        assert!(store.active_faults().unwrap().is_empty());
        let last = store.events("r1").unwrap().pop().unwrap().event;
        assert!(
            matches!(&last, RunEvent::Note { message } if message.contains("confirmed recovered through kubernetes-api")),
            "{last:?}"
        );
    }

    #[tokio::test]
    async fn a_node_cordon_left_active_is_restored_from_the_node_s_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_memory().unwrap();
        interrupted(
            &store,
            ExecutorRef::Nodes {
                nodes: vec!["node-a".into()],
            },
        );
        let (cluster, mut handle) = mock_cluster();
        let server = tokio::spawn(async move {
            let record = serde_json::json!({ "fault": "r1-f1", "expires": "2026-12-01T09:00:00Z", "wasUnschedulable": false });
            let node = serde_json::json!({ "apiVersion": "v1", "kind": "Node",
                "metadata": { "name": "node-a", "resourceVersion": "7",
                    "labels": { "faultline.dev/node-fault": "r1-f1" },
                    "annotations": { "faultline.dev/cordon": record.to_string() } },
                "spec": { "unschedulable": true } });
            let (req, send) = handle
                .next_request()
                .await
                .expect("the restore reads the node");
            assert_eq!(req.method(), http::Method::GET);
            assert_eq!(req.uri().path(), "/api/v1/nodes/node-a");
            send.send_response(Response::new(Body::from(
                serde_json::to_vec(&node).unwrap(),
            )));
            let (req, send) = handle.next_request().await.expect("then patches it back");
            assert_eq!(req.method(), http::Method::PATCH);
            let body: serde_json::Value =
                serde_json::from_slice(&req.into_body().collect_bytes().await.unwrap()).unwrap();
            assert_eq!(body["spec"], serde_json::json!({ "unschedulable": null }));
            send.send_response(Response::new(Body::from(
                serde_json::to_vec(&node).unwrap(),
            )));
            assert!(handle.next_request().await.is_none(), "nothing else");
        });
        let injector = in_process(dir.path()).await;
        let done = confirm_recovered(&store, &injector, Some(&cluster))
            .await
            .unwrap();
        drop(cluster);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done[0].outcome, Outcome::Recovered { targets: 1 });
        assert_eq!(
            recovered(&store),
            [
                ("r1-f1-1".to_string(), "removed".to_string()),
                ("r1-f1-0".to_string(), "removed".to_string())
            ]
        );
        assert!(store.active_faults().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_agent_fault_the_journal_already_removed_is_recorded_gone_and_an_unreachable_one_is_kept()
     {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_memory().unwrap();
        interrupted(&store, ExecutorRef::InProcess);
        store
            .fault_started(
                "r1",
                &active(
                    "r1-f2",
                    ExecutorRef::Kubernetes {
                        pods: vec!["shop/web-2".into()],
                    },
                ),
            )
            .unwrap();
        let injector = in_process(dir.path()).await;
        let done = confirm_recovered(&store, &injector, None).await.unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].outcome, Outcome::Recovered { targets: 0 });
        assert_eq!(
            done[1].outcome,
            Outcome::Unconfirmed {
                reason: "podFailure recovery needs cluster mode".to_string()
            }
        );
        assert_eq!(
            recovered(&store)[1],
            ("r1-f1-0".into(), "alreadyGone".into())
        );
        // What could not be confirmed stays for the next start-up.
        let left = store.active_faults().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].1.fault, "r1-f2");
    }
}
