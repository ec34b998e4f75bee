//! Run families the service's [`crate::ServiceMetrics`] does not carry, fed by the run
//! observer: `faultline_fault_active{experiment,kind,namespace}` (1 while a fault is
//! active: SLO recording rules exclude or count chaos windows with it) and
//! `faultline_check_threshold` (what each steady-state check is judged against, plotted
//! next to `faultline_check_value`), and `faultline_fault_verified_total{kind,result}`
//! (fault steps seen in effect after the apply, `verified`, or not, `unverified`).
//! Verdict counts, durations and check values are
//! `ServiceMetrics`' and are not duplicated here.
//!
//! Labels are bounded: `experiment` and `check` come from specs (a handful per team),
//! `kind` from the closed fault list, `phase` one of three, `bound` lower/upper,
//! `namespace` a Kubernetes namespace (or `local` for this machine). A run id or a fault
//! id is never a label.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Which side of a check's threshold is the limit; the `bound` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The value must stay at or above it (`>= 0.99`).
    Lower,
    /// The value must stay at or below it (`p99 < 300ms`).
    Upper,
}

impl Bound {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Bound::Lower => "lower",
            Bound::Upper => "upper",
        }
    }
}

/// The families; create them, hand clones to observers, then [`RunMetrics::register`]
/// them in the registry `/metrics` gathers (which may not exist yet when runs are set up).
#[derive(Debug, Clone)]
pub struct RunMetrics {
    fault_active: IntGaugeVec,
    check_threshold: GaugeVec,
    fault_verified: IntCounterVec,
}

impl RunMetrics {
    /// Creates the families (not yet registered anywhere).
    pub fn new() -> Result<Self, prometheus::Error> {
        let fault_active = IntGaugeVec::new(
            Opts::new(
                "faultline_fault_active",
                "1 while a fault of this kind is active in this namespace (local: this machine), 0 otherwise; for excluding chaos windows from SLOs.",
            ),
            &["experiment", "kind", "namespace"],
        )?;
        let check_threshold = GaugeVec::new(
            Opts::new(
                "faultline_check_threshold",
                "The threshold a steady-state check is judged against (base units: ratio, seconds), by bound.",
            ),
            &["experiment", "check", "phase", "bound"],
        )?;
        let fault_verified = IntCounterVec::new(
            Opts::new(
                "faultline_fault_verified_total",
                "Fault steps whose effect was read back after the apply: result verified (seen on at least verify.minCoverage of the targets within verify.within) or unverified (the run ended error).",
            ),
            &["kind", "result"],
        )?;
        Ok(RunMetrics {
            fault_active,
            check_threshold,
            fault_verified,
        })
    }

    /// Registers every family in `registry`.
    pub fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.fault_active.clone()))?;
        registry.register(Box::new(self.fault_verified.clone()))?;
        registry.register(Box::new(self.check_threshold.clone()))
    }

    /// Whether a fault of `kind` is active for `experiment` in `namespace` (the caller
    /// counts overlapping faults and passes whether any is left).
    pub fn fault_active(&self, experiment: &str, kind: &str, namespace: &str, active: bool) {
        self.fault_active
            .with_label_values(&[experiment, kind, namespace])
            .set(i64::from(active));
    }

    /// Counts one fault step's verification: `verified` true or false.
    pub fn fault_verified(&self, kind: &str, verified: bool) {
        let result = if verified { "verified" } else { "unverified" };
        self.fault_verified.with_label_values(&[kind, result]).inc();
    }

    /// The threshold a check is judged against.
    pub fn check_threshold(
        &self,
        experiment: &str,
        check: &str,
        phase: &str,
        bound: Bound,
        threshold: f64,
    ) {
        self.check_threshold
            .with_label_values(&[experiment, check, phase, bound.as_str()])
            .set(threshold);
    }
}

#[cfg(test)]
mod tests {
    use prometheus::{Encoder, TextEncoder};

    use super::*;

    fn text(r: &Registry) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&r.gather(), &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn families_registered_late_carry_what_was_set_before() {
        let r = Registry::new();
        let m = RunMetrics::new().unwrap();
        m.fault_active("checkout", "processPause", "local", true);
        m.register(&r).unwrap();
        m.check_threshold("checkout", "availability", "during", Bound::Lower, 0.99);
        let t = text(&r);
        for needle in [
            r#"faultline_fault_active{experiment="checkout",kind="processPause",namespace="local"} 1"#,
            r#"faultline_check_threshold{bound="lower",check="availability",experiment="checkout",phase="during"} 0.99"#,
        ] {
            assert!(t.contains(needle), "missing {needle} in\n{t}");
        }
        m.fault_active("checkout", "processPause", "local", false);
        assert!(text(&r).contains(
            r#"faultline_fault_active{experiment="checkout",kind="processPause",namespace="local"} 0"#
        ));
    }
}
