//! Where a run's local targets are carried out: the agent library in-process (`faultline
//! run`, `faultline demo`) or a node agent over HTTP (`faultline serve --agent`). Same
//! requests, same journal and lease semantics either way; the runner's executors
//! (`runner/executor/`) do the calls.

use std::sync::Arc;

use faultline_agent::agent::Agent;
use faultline_agent::client::AgentClient;

/// The `agent` of faults the in-process agent applies (events, span attributes).
pub const IN_PROCESS: &str = "in-process";
/// The `agent` of pod faults (podKill, podFailure): the service itself, through the
/// Kubernetes API.
pub const KUBERNETES_API: &str = "kubernetes-api";

/// Where faults are carried out.
#[derive(Clone)]
pub enum Injector {
    /// The agent library in this process, journaling under its state dir.
    InProcess(Arc<Agent>),
    /// A node agent over HTTP.
    Remote(AgentClient),
}
