//! Feeds [`RunMetrics`] from run events: `faultline_fault_active` while faults are on,
//! and each check's thresholds (its values are `ServiceMetrics`', fed by the API).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use faultline_exporter::{Bound, RunMetrics};
use faultline_spec::steady::{Comparator, Condition, Expectation};

use crate::application::ports::observe::{RunInfo, RunObserver};
use crate::domain::RunEvent;

/// What the observer remembers of a run still going: fault id -> (kind, namespace).
type Live = HashMap<String, (String, String)>;

/// Updates [`RunMetrics`] as runs progress.
pub struct MetricsObserver {
    metrics: RunMetrics,
    runs: Mutex<HashMap<String, Live>>,
    /// (experiment, kind, namespace) -> faults active across runs, so two overlapping
    /// runs of one experiment do not turn the gauge off early.
    active: Mutex<HashMap<(String, String, String), usize>>,
}

/// The Kubernetes namespace of a fault's target as the engine writes it (`pod NS/NAME`),
/// `nodes` for a node (`node NAME`: nodes have no namespace), or `local` for a target on
/// this machine (pid, process, cgroup, netns, container).
pub fn namespace_of(target: &str) -> String {
    if target.starts_with("node ") {
        return "nodes".to_string();
    }
    target
        .strip_prefix("pod ")
        .and_then(|p| p.split_once('/'))
        .map_or_else(|| "local".to_string(), |(ns, _)| ns.to_string())
}

/// The thresholds of an `expect`, with the side each one limits.
pub fn thresholds(expect: &str) -> Vec<(Bound, f64)> {
    let Ok(e) = expect.parse::<Expectation>() else {
        return Vec::new();
    };
    match e.condition {
        Condition::Compare { op, threshold } => {
            let t = threshold.base();
            match op {
                Comparator::Ge | Comparator::Gt => vec![(Bound::Lower, t)],
                Comparator::Le | Comparator::Lt => vec![(Bound::Upper, t)],
                Comparator::Eq => vec![(Bound::Lower, t), (Bound::Upper, t)],
                Comparator::Ne => Vec::new(),
            }
        }
        Condition::Range { low, high } => {
            vec![(Bound::Lower, low.base()), (Bound::Upper, high.base())]
        }
    }
}

impl MetricsObserver {
    /// An observer feeding `metrics`.
    pub fn new(metrics: RunMetrics) -> MetricsObserver {
        MetricsObserver {
            metrics,
            runs: Mutex::new(HashMap::new()),
            active: Mutex::new(HashMap::new()),
        }
    }

    fn shift(&self, experiment: &str, kind: &str, ns: &str, delta: isize) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let n = active
            .entry((experiment.to_string(), kind.to_string(), ns.to_string()))
            .or_default();
        *n = n.saturating_add_signed(delta);
        self.metrics.fault_active(experiment, kind, ns, *n > 0);
    }
}

impl RunObserver for MetricsObserver {
    fn observe(&self, run: &RunInfo, event: &RunEvent, _at: DateTime<Utc>) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let live = runs.entry(run.id.clone()).or_default();
        match event {
            RunEvent::FaultApplied {
                fault,
                kind,
                target,
                ..
            } => {
                let ns = namespace_of(target);
                self.shift(&run.experiment, kind, &ns, 1);
                live.insert(fault.clone(), (kind.clone(), ns));
            }
            RunEvent::FaultVerified { kind, .. } => self.metrics.fault_verified(kind, true),
            RunEvent::FaultUnverified { kind, .. } => self.metrics.fault_verified(kind, false),
            RunEvent::FaultRecovered { fault, .. } => {
                if let Some((kind, ns)) = live.remove(fault) {
                    self.shift(&run.experiment, &kind, &ns, -1);
                }
            }
            RunEvent::CheckEvaluated {
                check,
                phase,
                expect,
                ..
            } => {
                for (bound, t) in thresholds(expect) {
                    self.metrics
                        .check_threshold(&run.experiment, check, phase, bound, t);
                }
            }
            RunEvent::StateChanged { to, .. } if to.is_terminal() => {
                let live = runs.remove(&run.id).unwrap_or_default();
                // A fault whose recovery was never reported must not stay "active".
                for (kind, ns) in live.values() {
                    self.shift(&run.experiment, kind, ns, -1);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_name_the_side_they_limit_in_base_units() {
        assert_eq!(thresholds(">= 0.99"), vec![(Bound::Lower, 0.99)]);
        assert_eq!(thresholds("p99 < 300ms"), vec![(Bound::Upper, 0.3)]);
        assert_eq!(
            thresholds("90%..100%"),
            vec![(Bound::Lower, 0.9), (Bound::Upper, 1.0)]
        );
        assert!(thresholds("nonsense").is_empty());
    }

    #[test]
    fn overlapping_faults_keep_the_gauge_up_until_the_last_is_recovered() {
        let registry = prometheus::Registry::new();
        let m = RunMetrics::new().unwrap();
        m.register(&registry).unwrap();
        let obs = MetricsObserver::new(m);
        let info = |id: &str| RunInfo {
            id: id.into(),
            experiment: "e".into(),
            gitlab: None,
        };
        let applied = |fault: &str| RunEvent::FaultApplied {
            fault: fault.into(),
            kind: "processPause".into(),
            target: "pid 1".into(),
            step: "s".into(),
            agent: "in-process".into(),
            node: None,
        };
        let recovered = |fault: &str| RunEvent::FaultRecovered {
            fault: fault.into(),
            outcome: "removed".into(),
        };
        let value = || registry.gather()[0].get_metric()[0].get_gauge().get_value();
        let now = Utc::now();
        obs.observe(&info("r1"), &applied("a"), now);
        obs.observe(&info("r2"), &applied("b"), now);
        obs.observe(&info("r1"), &recovered("a"), now);
        assert_eq!(value(), 1.0, "r2's fault is still on");
        // r2 ends without reporting the recovery: the gauge must not stay up.
        let end = RunEvent::StateChanged {
            to: crate::domain::RunState::Error,
            reason: String::new(),
        };
        obs.observe(&info("r2"), &end, now);
        assert_eq!(value(), 0.0);
    }

    #[test]
    fn namespaces_of_pods_and_local_targets() {
        assert_eq!(namespace_of("pod shop/checkout-1"), "shop");
        assert_eq!(namespace_of("pid 42"), "local");
        assert_eq!(namespace_of("node worker-3"), "nodes");
    }
}
