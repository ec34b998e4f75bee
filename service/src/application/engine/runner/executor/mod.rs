//! The fault seam: one small trait, [`Executor`] (apply / renew / recover), and one
//! implementation per way a fault is carried out, each in its own file — the agent library
//! in this process ([`in_process`]), a node agent over HTTP ([`remote`]), the Kubernetes
//! API ([`kubernetes`]: podKill, podFailure). The run's lifecycle (`lifecycle.rs`) drives
//! every fault through the same steps whichever executor carries it out.
//!
//! The executors are used through an enum, [`AnyExecutor`], the way the agent's `Family`
//! sits over its fault families: the set is closed and known here, so static dispatch keeps
//! the trait's `async fn`s (no boxed futures, and the step future stays `Send` because each
//! arm's future is a concrete type), and an active fault can hold its executor by value.
//!
//! The contract every executor keeps: applying twice is the same as once; recovering what
//! is gone is success; renewing moves the lease that bounds the fault if this process dies.

mod in_process;
mod kubernetes;
mod nodes;
mod pod_observe;
mod remote;
mod seam;

use std::time::Duration;

use chrono::{DateTime, Utc};
use faultline_agent::faults::FaultId;
use faultline_exporter::TraceParent;

pub(crate) use in_process::InProcess;
pub(crate) use kubernetes::Kubernetes;
pub(crate) use nodes::NodeApi;
pub(crate) use remote::Remote;
pub(crate) use seam::{Applied, ExecError, Executor, NodeOrder, Order, Recovered, Seen};

use crate::application::engine::inject::Injector;
use crate::domain::ExecutorRef;

/// Every executor, for an active fault to hold by value.
#[derive(Clone)]
pub(crate) enum AnyExecutor {
    /// The agent library in this process.
    InProcess(InProcess),
    /// A node agent over HTTP.
    Remote(Remote),
    /// The Kubernetes API.
    Kubernetes(Kubernetes),
    /// The Kubernetes API's nodes (nodeCordon, nodeTaint, nodeDrain).
    Nodes(NodeApi),
}

impl From<&Injector> for AnyExecutor {
    /// The executor of the run's local targets.
    fn from(injector: &Injector) -> AnyExecutor {
        match injector {
            Injector::InProcess(agent) => AnyExecutor::InProcess(InProcess::new(agent.clone())),
            Injector::Remote(client) => AnyExecutor::Remote(Remote::new(client.clone())),
        }
    }
}

/// `$body` with `$e` bound to the executor inside `$any`, whichever it is.
macro_rules! each {
    ($any:expr, $e:ident => $body:expr) => {
        match $any {
            AnyExecutor::InProcess($e) => $body,
            AnyExecutor::Remote($e) => $body,
            AnyExecutor::Kubernetes($e) => $body,
            AnyExecutor::Nodes($e) => $body,
        }
    };
}

impl Executor for AnyExecutor {
    fn agent(&self) -> String {
        each!(self, e => e.agent())
    }

    fn reference(&self) -> ExecutorRef {
        each!(self, e => e.reference())
    }

    fn lease(&self, lease: Duration) -> Duration {
        each!(self, e => e.lease(lease))
    }

    async fn apply(&self, id: &FaultId, order: &Order, parent: Option<&TraceParent>) -> Applied {
        each!(self, e => e.apply(id, order, parent).await)
    }

    async fn renew(
        &self,
        id: &FaultId,
        lease: Duration,
        parent: Option<&TraceParent>,
    ) -> Result<Option<DateTime<Utc>>, ExecError> {
        each!(self, e => e.renew(id, lease, parent).await)
    }

    async fn observe(
        &self,
        id: &FaultId,
        order: &Order,
        parent: Option<&TraceParent>,
    ) -> Result<Option<Vec<Seen>>, ExecError> {
        each!(self, e => e.observe(id, order, parent).await)
    }

    async fn recover(
        &self,
        id: &FaultId,
        parent: Option<&TraceParent>,
    ) -> Result<Vec<Recovered>, ExecError> {
        each!(self, e => e.recover(id, parent).await)
    }
}
