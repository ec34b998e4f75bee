//! What a run takes from the service (the lease, Prometheus, observers, the cluster),
//! and the handle that aborts it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::application::ports::cluster::PodCluster;
use crate::application::ports::observe::{FaultTraces, Observers};
use crate::application::probes::PrometheusClient;

/// Settings a run takes from the service's configuration.
#[derive(Clone)]
pub struct RunOptions {
    /// The lease each fault is applied with; renewed every third of it while the run
    /// lives. If the engine dies, agents recover the faults when it lapses.
    pub lease: Duration,
    /// Where Prometheus checks are evaluated.
    pub prometheus: Option<PrometheusClient>,
    /// Who hears about every event (metrics, annotations, notifications, progress).
    pub observers: Observers,
    /// True when Alertmanager can push firing alerts (`serve`'s `/webhooks/alertmanager`):
    /// `spec.abortOnAlerts` then works without a Prometheus URL to poll.
    pub alerts_pushed: bool,
    /// The Kubernetes cluster, in cluster mode (`faultline serve --kubernetes`): pod
    /// targets are resolved and pod faults carried out through it.
    pub cluster: Option<Arc<dyn PodCluster>>,
    /// Where fault spans are opened before their apply call, so calls to node agents
    /// carry their trace context (the trace observer, when traces are exported).
    pub fault_traces: Option<Arc<dyn FaultTraces>>,
    /// How long an `untilAborted` fault (a Chaos Mesh chaos without `duration`) holds
    /// when its experiment sets no `guard.maxDuration` (`serve --max-duration`).
    pub max_duration: Duration,
    /// The preflight veto asked before anything is injected (`veto:` in serve's config).
    pub preflight: Option<crate::application::governance::Preflight>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lease: Duration::from_secs(30),
            prometheus: None,
            observers: Observers::default(),
            alerts_pushed: false,
            cluster: None,
            fault_traces: None,
            max_duration: faultline_spec::Guard::DEFAULT_MAX_DURATION.std(),
            preflight: None,
        }
    }
}

/// Lets others stop a run: an operator, a signal handler, an alert.
#[derive(Clone)]
pub struct AbortHandle(pub(super) Arc<watch::Sender<Option<String>>>);

impl AbortHandle {
    /// Asks the run to stop, recover everything and end `aborted` with `reason`. The
    /// first reason wins.
    pub fn abort(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(reason);
                true
            } else {
                false
            }
        });
    }
}
