//! What runs did, as metric families Grafana can plot against the fault windows:
//! verdicts, durations, which faults are active, and each steady-state check's value and
//! threshold.
//!
//! Labels are bounded: `experiment` and `check` come from specs (a handful per team),
//! `verdict` is one of four, `kind` from the closed fault list, `phase` one of three,
//! `bound` lower/upper, `namespace` a Kubernetes namespace (or `local` for this machine).
//! A run id or a fault id is never a label.

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

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

/// The run families, registered in a registry the caller owns.
#[derive(Debug, Clone)]
pub struct RunMetrics {
    runs_finished: IntCounterVec,
    run_duration: HistogramVec,
    fault_active: IntGaugeVec,
    check_value: GaugeVec,
    check_threshold: GaugeVec,
}

/// Run duration buckets from 1 s to ~1.8 h: experiments last seconds to hours.
fn duration_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(1.0, 2.5, 10).unwrap_or_default()
}

impl RunMetrics {
    /// Creates the families and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let runs_finished = IntCounterVec::new(
            Opts::new(
                "faultline_runs_finished_total",
                "Runs that reached a verdict, by experiment and verdict.",
            ),
            &["experiment", "verdict"],
        )?;
        let run_duration = HistogramVec::new(
            HistogramOpts::new(
                "faultline_run_duration_seconds",
                "Wall time of a run from its first event to its verdict.",
            )
            .buckets(duration_buckets()),
            &["experiment"],
        )?;
        let fault_active = IntGaugeVec::new(
            Opts::new(
                "faultline_fault_active",
                "1 while a fault of this kind is active in this namespace (local: this machine), 0 otherwise; for excluding chaos windows from SLOs.",
            ),
            &["experiment", "kind", "namespace"],
        )?;
        let check_value = GaugeVec::new(
            Opts::new(
                "faultline_check_value",
                "Last measured value of a steady-state check (base units: ratio, seconds).",
            ),
            &["experiment", "check", "phase"],
        )?;
        let check_threshold = GaugeVec::new(
            Opts::new(
                "faultline_check_threshold",
                "The threshold a steady-state check is judged against (base units), by bound.",
            ),
            &["experiment", "check", "phase", "bound"],
        )?;
        registry.register(Box::new(runs_finished.clone()))?;
        registry.register(Box::new(run_duration.clone()))?;
        registry.register(Box::new(fault_active.clone()))?;
        registry.register(Box::new(check_value.clone()))?;
        registry.register(Box::new(check_threshold.clone()))?;
        Ok(RunMetrics {
            runs_finished,
            run_duration,
            fault_active,
            check_value,
            check_threshold,
        })
    }

    /// A run of `experiment` ended with `verdict` after `seconds`.
    pub fn run_finished(&self, experiment: &str, verdict: &str, seconds: f64) {
        self.runs_finished
            .with_label_values(&[experiment, verdict])
            .inc();
        self.run_duration
            .with_label_values(&[experiment])
            .observe(seconds.max(0.0));
    }

    /// Whether a fault of `kind` is active for `experiment` in `namespace` (the caller
    /// counts overlapping faults and passes whether any is left).
    pub fn fault_active(&self, experiment: &str, kind: &str, namespace: &str, active: bool) {
        self.fault_active
            .with_label_values(&[experiment, kind, namespace])
            .set(i64::from(active));
    }

    /// The last value a check measured.
    pub fn check_value(&self, experiment: &str, check: &str, phase: &str, value: f64) {
        self.check_value
            .with_label_values(&[experiment, check, phase])
            .set(value);
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
    fn families_carry_the_documented_labels() {
        let r = Registry::new();
        let m = RunMetrics::new(&r).unwrap();
        m.run_finished("checkout", "passed", 12.0);
        m.fault_active("checkout", "processPause", "local", true);
        m.check_value("checkout", "availability", "during", 0.995);
        m.check_threshold("checkout", "availability", "during", Bound::Lower, 0.99);
        let t = text(&r);
        for needle in [
            r#"faultline_runs_finished_total{experiment="checkout",verdict="passed"} 1"#,
            r#"faultline_run_duration_seconds_count{experiment="checkout"} 1"#,
            r#"faultline_fault_active{experiment="checkout",kind="processPause",namespace="local"} 1"#,
            r#"faultline_check_value{check="availability",experiment="checkout",phase="during"} 0.995"#,
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
