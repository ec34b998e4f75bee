//! Why a run stopped before its verdict: aborted (with the reason), or an error named for
//! the step that failed. The run's reason is the error with its causes, one line
//! ("step cpu: agent ...: connection refused"), as the run records and shows it.

use faultline_agent::agent::error_chain;
use faultline_agent::faults::FaultId;

use super::executor::ExecError;
use crate::application::ports::cluster::ClusterError;
use crate::application::ports::store_error::StoreError;
use crate::application::probes::{CheckSetupError, HttpProbeError, ProbeError};

/// Why a run stopped early.
#[derive(Debug)]
pub(super) enum Stop {
    /// An operator, a signal, an alert, an abort bound, the deadline: the reason.
    Aborted(String),
    /// faultline could not go on; the run ends `error` (boxed: the errors are large,
    /// and every step returns a `Result<_, Stop>`).
    Error(Box<RunError>),
}

impl Stop {
    /// The run ends `error` because of `e`.
    pub(super) fn error(e: RunError) -> Stop {
        Stop::Error(Box::new(e))
    }

    /// True when the run stopped because the store refused an event.
    pub(super) fn is_record(&self) -> bool {
        matches!(self, Stop::Error(e) if matches!(**e, RunError::Record(_)))
    }

    /// The reason the run records: the abort's, or the error with its causes.
    pub(super) fn reason(&self) -> String {
        match self {
            Stop::Aborted(r) => r.clone(),
            Stop::Error(e) => error_chain(&**e),
        }
    }
}

/// What made a run end `error`, by the step that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// An event could not be persisted: the run cannot go on without its record.
    #[error("store: {0}")]
    Record(StoreError),
    /// A steady-state check could not be prepared.
    #[error(transparent)]
    Check(#[from] CheckSetupError),
    /// A `check:` step's HTTP probe could not be set up.
    #[error("step {step}: status check")]
    StatusCheck {
        /// The step's label.
        step: String,
        /// Why.
        #[source]
        source: HttpProbeError,
    },
    /// `spec.abortOnAlerts` with nothing to watch the alerts.
    #[error(
        "spec.abortOnAlerts needs a Prometheus URL (--prometheus URL or FAULTLINE_PROMETHEUS_URL) to watch the alerts, or faultline serve with Alertmanager sending to /webhooks/alertmanager"
    )]
    AlertsUnwatched,
    /// Prometheus could not say which of `spec.abortOnAlerts` fire before injection.
    #[error("spec.abortOnAlerts: {0}")]
    Alerts(ProbeError),
    /// `spec.guard.errorBudget` with no Prometheus to measure it.
    #[error(
        "spec.guard.errorBudget needs a Prometheus URL (--prometheus URL or FAULTLINE_PROMETHEUS_URL)"
    )]
    ErrorBudgetUnmeasurable,
    /// A step's fault has no target.
    #[error("step {step}: no target (set spec.target or the step's target)")]
    NoTarget {
        /// The step's label.
        step: String,
    },
    /// A local target's network fault names peer pods, which only cluster mode resolves
    /// (unresolved, a partition would cut everything).
    #[error(
        "step {step}: `peerSelector` names pods, which only `faultline serve --kubernetes` resolves; give `peers` addresses for a local target"
    )]
    PeerSelectorOutsideCluster {
        /// The step's label.
        step: String,
    },
    /// A network fault's host name (`hosts`, Chaos Mesh `externalTargets`) did not
    /// resolve when the step was injected.
    #[error("step {step}: host `{host}` does not resolve: {reason}")]
    HostUnresolved {
        /// The step's label.
        step: String,
        /// The name.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// An executor could not apply a step's fault: the in-process or run's agent, a
    /// node's agent, the Kubernetes API.
    #[error("step {step}")]
    Apply {
        /// The step's label.
        step: String,
        /// Why.
        #[source]
        source: ExecError,
    },
    /// A fault step's effect was not seen on enough of its targets within
    /// `verify.within` (the evidence says what was read instead).
    #[error(
        "fault did not take effect: step {step} ({kind}) seen on {affected}/{selected} target(s) within {within}, {needed}% needed: {evidence}"
    )]
    NotEffective {
        /// The step's label.
        step: String,
        /// The fault kind.
        kind: &'static str,
        /// Targets it was seen on.
        affected: usize,
        /// Targets selected.
        selected: usize,
        /// `verify.within`.
        within: faultline_spec::Duration,
        /// `verify.minCoverage`.
        needed: f64,
        /// What was read.
        evidence: String,
    },
    /// A fault could not be recovered where it was applied.
    #[error("recovering {fault}")]
    Recover {
        /// The fault request.
        fault: FaultId,
        /// Why.
        #[source]
        source: ExecError,
    },
    /// Pod targets outside cluster mode, found before anything is injected.
    #[error(
        "Kubernetes pod targets need `faultline serve --kubernetes` (cluster mode); use a `local` target with `faultline run`"
    )]
    ClusterModeNeeded,
    /// The cluster could not check the pod targets before injection (not a guard
    /// refusal: that ends the run `failed`).
    #[error("{}; nothing injected", error_chain(.0))]
    ClusterCheck(ClusterError),
    /// A pod step outside cluster mode.
    #[error(
        "step {step}: Kubernetes pod targets need `faultline serve --kubernetes` (cluster mode)"
    )]
    StepNeedsCluster {
        /// The step's label.
        step: String,
    },
    /// The cluster failed to resolve a pod step: selecting pods, finding their agents.
    #[error("step {step}")]
    Cluster {
        /// The step's label.
        step: String,
        /// Why.
        #[source]
        source: ClusterError,
    },
    /// A network fault's `peerSelector` could not be resolved.
    #[error("step {step}: peerSelector")]
    PeerSelector {
        /// The step's label.
        step: String,
        /// Why.
        #[source]
        source: ClusterError,
    },
    /// None of the peer pods has an IP yet (no peers would mean all traffic).
    #[error(
        "step {step}: peerSelector: none of the {chosen} chosen peer pods ({described}) has an IP yet"
    )]
    PeersWithoutIp {
        /// The step's label.
        step: String,
        /// How many peers were chosen.
        chosen: usize,
        /// The peer selector as a person reads it.
        described: String,
    },
    /// A step's fault is carried out through the Kubernetes API, but its target is local.
    #[error(
        "step {step}: {kind} is carried out through the Kubernetes API and needs a Kubernetes target"
    )]
    NeedsKubernetesTarget {
        /// The step's label.
        step: String,
        /// The fault kind.
        kind: &'static str,
    },
    /// The id of a node's request is not a valid fault id.
    #[error("step {step}: {reason}")]
    FaultId {
        /// The step's label.
        step: String,
        /// The agent's reason (shown in this error's text, so not its source too).
        reason: faultline_agent::FaultIdError,
    },
    /// A task step outside cluster mode, found before anything is injected.
    #[error(
        "step {step}: a Task runs a container in the cluster, and this run has none (`faultline run` works on this machine only); nothing injected. Run it with `faultline serve --kubernetes` (cluster mode), or replace the task with the steps of the branch you want"
    )]
    TaskNeedsCluster {
        /// The task step's label.
        step: String,
    },
    /// A task's pod could not be created, read or deleted.
    #[error("step {step}: task pod")]
    Task {
        /// The step's label.
        step: String,
        /// Why.
        #[source]
        source: crate::application::ports::TaskPodError,
    },
    /// A task's container did not exit in time (it was deleted).
    #[error(
        "step {step}: task pod {pod} did not finish within its timeout ({timeout}); it was deleted"
    )]
    TaskTimedOut {
        /// The step's label.
        step: String,
        /// `NS/NAME`.
        pod: String,
        /// `task.timeout`.
        timeout: faultline_spec::Duration,
    },
    /// A task's pod ended without its container's exit code.
    #[error("step {step}: task pod {pod}: {why}; it was deleted")]
    TaskEnded {
        /// The step's label.
        step: String,
        /// `NS/NAME`.
        pod: String,
        /// What the pod's status says.
        why: String,
    },
    /// A fault kind only the agents carry out, aimed at pods with no agent route.
    #[error("step {step}: {kind} has no Kubernetes implementation")]
    NoKubernetesImplementation {
        /// The step's label.
        step: String,
        /// The fault kind.
        kind: String,
    },
    /// A node fault's nodes cannot be chosen as the step says (its target names pods, or
    /// no node of another zone has an address to cut off).
    #[error("step {step}: {message}")]
    NodeTarget {
        /// The step's label.
        step: String,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run's reason reads as it did when these errors were strings.
    #[test]
    fn reasons_name_the_step_and_carry_the_causes() {
        let stop = |e| Stop::error(e).reason();
        assert_eq!(
            stop(RunError::Record(StoreError::NoSuchRun("r1".into()))),
            "store: no run with id r1"
        );
        assert_eq!(
            stop(RunError::ClusterCheck(ClusterError::Guard(
                "namespace `kube-system` is protected".into()
            ))),
            "guard: namespace `kube-system` is protected; nothing injected"
        );
        assert_eq!(
            stop(RunError::Cluster {
                step: "kill".into(),
                source: ClusterError::NoAgent {
                    target: "node a".into(),
                    message: "agent pod x is not ready".into(),
                },
            }),
            "step kill: node a: agent pod x is not ready"
        );
        assert_eq!(
            stop(RunError::Recover {
                fault: FaultId::new("r1-f1").unwrap(),
                source: ExecError::Restore(vec![
                    ClusterError::Guard("a".into()),
                    ClusterError::Guard("b".into()),
                ]),
            }),
            "recovering r1-f1: guard: a; guard: b"
        );
        assert_eq!(
            stop(RunError::Apply {
                step: "kill".into(),
                source: ExecError::Cluster(ClusterError::Guard("x".into())),
            }),
            "step kill: guard: x"
        );
        assert_eq!(Stop::Aborted("deadline".into()).reason(), "deadline");
    }
}
