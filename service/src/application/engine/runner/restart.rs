//! After a restart: the faults a dead process left active, as the store recorded them
//! before applying them, each confirmed recovered through the executor that applied it —
//! an agent recovers by id (the in-process one already did, from its journal, when it
//! opened), podFailure's pods are restored — and the outcome recorded on its run. What
//! cannot be confirmed stays recorded for the next start-up; its lease bounds it meanwhile.

use std::collections::BTreeSet;
use std::sync::Arc;

use faultline_agent::agent::error_chain;
use faultline_agent::faults::FaultId;

use super::executor::{AnyExecutor, ExecError, Executor, InProcess, Kubernetes, Remote};
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
    /// How many of its targets were confirmed recovered, or why it could not be.
    pub outcome: Result<usize, String>,
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
            outcome: result.map(|r| r.len()),
        });
    }
    Ok(done)
}

/// The events of a confirmed recovery: each target's outcome as the executor found it,
/// for every target whose `FaultApplied` has no `FaultRecovered` yet (a target the
/// executor no longer knows of — its lease lapsed, its agent restarted — is
/// `alreadyGone`), then a note.
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
    let mut events: Vec<RunEvent> = open
        .iter()
        .map(|fault| RunEvent::FaultRecovered {
            fault: fault.clone(),
            outcome: recovered
                .iter()
                .find(|(f, _)| f == fault)
                .map_or_else(|| "alreadyGone".to_string(), |(_, o)| o.clone()),
        })
        .collect();
    events.push(RunEvent::Note {
        message: format!(
            "after a restart: fault {} ({}, step {}) confirmed recovered through {} ({} target(s) still open)",
            active.fault,
            active.kind,
            active.step,
            active.executor.name(),
            open.len()
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
