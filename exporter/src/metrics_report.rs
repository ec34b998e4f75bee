//! The GitLab Metrics Report of one run (`artifacts: reports: metrics`, default file
//! `metrics.txt`): each steady-state check's value per phase, the verdict and the run's
//! duration, so a merge request shows how they moved against the target branch.
//!
//! The file is the Prometheus text format ended by `# EOF`, which makes it OpenMetrics text
//! too, as GitLab's documentation asks. GitLab itself reads it line by line: it drops
//! everything from a `#` on, shell-splits the rest and keeps the first word as the metric's
//! key (`name{labels}`) and the second as its value, compared as a *string* between
//! branches. Hence: one line per series, values printed the same way every time, and no `#`
//! inside a label value (it would cut the line short there, so it is replaced by `_`).
//! Families are sorted by name and series by labels (the encoder does it), so two runs of
//! the same experiment list their lines in the same order.

use prometheus::{GaugeVec, Opts, Registry};

/// The verdicts a finished run can have; each gets a `faultline_run_verdict` line, 1 for
/// the run's own and 0 for the others, so a change of verdict shows as changed values
/// rather than one line removed and another added.
pub const VERDICTS: [&str; 4] = ["passed", "failed", "aborted", "error"];

/// What a check measured in one phase (the report's per-phase summary).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseValues {
    /// Last value measured (`None`: every probe of the phase failed).
    pub last: Option<f64>,
    /// Lowest value measured.
    pub min: Option<f64>,
    /// Highest value measured.
    pub max: Option<f64>,
    /// Whether the check held in this phase.
    pub ok: bool,
}

/// One run's metrics, filled by [`MetricsReport::check`] and [`MetricsReport::run`], then
/// written with [`MetricsReport::encode`].
#[derive(Debug)]
pub struct MetricsReport {
    registry: Registry,
    value: GaugeVec,
    min: GaugeVec,
    max: GaugeVec,
    ok: GaugeVec,
    verdict: GaugeVec,
    duration: GaugeVec,
}

impl MetricsReport {
    /// An empty report with every family registered.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let check = &["experiment", "check", "phase"];
        let family =
            |name: &str, help: &str, labels: &[&str]| -> Result<GaugeVec, prometheus::Error> {
                let g = GaugeVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(g.clone()))?;
                Ok(g)
            };
        Ok(MetricsReport {
            // Same name and labels as the service's own gauge of the last value.
            value: family(
                "faultline_check_value",
                "Last value a steady-state check measured in the phase (base units: ratio, seconds).",
                check,
            )?,
            min: family(
                "faultline_check_min",
                "Lowest value a steady-state check measured in the phase.",
                check,
            )?,
            max: family(
                "faultline_check_max",
                "Highest value a steady-state check measured in the phase.",
                check,
            )?,
            ok: family(
                "faultline_check_ok",
                "1 if the steady-state check held in the phase, 0 if not.",
                check,
            )?,
            verdict: family(
                "faultline_run_verdict",
                "1 for the run's verdict, 0 for the other verdicts.",
                &["experiment", "verdict"],
            )?,
            duration: family(
                "faultline_run_duration_seconds",
                "Wall time of the run from start to verdict.",
                &["experiment"],
            )?,
            registry,
        })
    }

    /// Records what `check` of `experiment` measured in `phase`. A value that was never
    /// measured gets no line rather than a made-up number.
    pub fn check(&self, experiment: &str, check: &str, phase: &str, v: PhaseValues) {
        let labels = [label(experiment), label(check), label(phase)];
        let labels = [labels[0].as_str(), labels[1].as_str(), labels[2].as_str()];
        for (family, value) in [
            (&self.value, v.last),
            (&self.min, v.min),
            (&self.max, v.max),
        ] {
            if let Some(x) = value {
                family.with_label_values(&labels).set(x);
            }
        }
        self.ok
            .with_label_values(&labels)
            .set(if v.ok { 1.0 } else { 0.0 });
    }

    /// Records the run's verdict (a state that is not in [`VERDICTS`], as when the caller
    /// stopped waiting, leaves every verdict line at 0) and its duration, if it finished.
    pub fn run(&self, experiment: &str, verdict: &str, duration_seconds: Option<f64>) {
        let experiment = label(experiment);
        for v in VERDICTS {
            self.verdict
                .with_label_values(&[experiment.as_str(), v])
                .set(if v == verdict { 1.0 } else { 0.0 });
        }
        if let Some(s) = duration_seconds {
            self.duration
                .with_label_values(&[experiment.as_str()])
                .set(s);
        }
    }

    /// The report's text, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = crate::text::encode_text(&self.registry);
        text.push_str("# EOF\n");
        text
    }
}

/// A label value GitLab's line parser keeps whole (see the module doc).
fn label(s: &str) -> String {
    s.replace('#', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        let r = MetricsReport::new().unwrap();
        let v = |last, min, max, ok| PhaseValues {
            last: Some(last),
            min: Some(min),
            max: Some(max),
            ok,
        };
        r.check(
            "checkout",
            "availability",
            "before",
            v(0.998, 0.99, 1.0, true),
        );
        r.check(
            "checkout",
            "availability",
            "during",
            v(0.5, 0.25, 0.97, false),
        );
        r.check(
            "checkout",
            "p99 #1",
            "after",
            PhaseValues {
                last: None,
                min: None,
                max: None,
                ok: false,
            },
        );
        r.run("checkout", "failed", Some(12.5));
        r.encode()
    }

    #[test]
    fn one_line_per_series_with_the_values_as_gitlab_compares_them() {
        let text = sample();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        for want in [
            r#"faultline_check_value{check="availability",experiment="checkout",phase="before"} 0.998"#,
            r#"faultline_check_min{check="availability",experiment="checkout",phase="during"} 0.25"#,
            r#"faultline_check_max{check="availability",experiment="checkout",phase="during"} 0.97"#,
            r#"faultline_check_ok{check="availability",experiment="checkout",phase="before"} 1"#,
            r#"faultline_check_ok{check="availability",experiment="checkout",phase="during"} 0"#,
            r#"faultline_run_verdict{experiment="checkout",verdict="failed"} 1"#,
            r#"faultline_run_verdict{experiment="checkout",verdict="passed"} 0"#,
            r#"faultline_run_duration_seconds{experiment="checkout"} 12.5"#,
        ] {
            assert!(lines.contains(&want), "missing {want} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("# TYPE faultline_check_value gauge"),
            "{text}"
        );
    }

    #[test]
    fn unmeasured_values_get_no_line_and_hashes_leave_label_values() {
        let text = sample();
        // The check whose probes all failed: its `ok` line only.
        let p99: Vec<&str> = text.lines().filter(|l| l.contains("p99")).collect();
        assert_eq!(
            p99,
            [r#"faultline_check_ok{check="p99 _1",experiment="checkout",phase="after"} 0"#]
        );
        // Every series line is `key value`, with no `#` GitLab would cut it at.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(!line.contains('#'), "{line}");
            let (key, value) = line.rsplit_once(' ').unwrap();
            assert!(key.ends_with('}'), "{line}");
            value.parse::<f64>().unwrap();
        }
    }

    #[test]
    fn a_state_that_is_no_verdict_sets_no_verdict_line() {
        let r = MetricsReport::new().unwrap();
        r.run("x", "observing", None);
        let text = r.encode();
        assert_eq!(text.matches("faultline_run_verdict{").count(), 4, "{text}");
        assert!(!text.contains("} 1\n"), "{text}");
        assert!(!text.contains("faultline_run_duration_seconds{"), "{text}");
    }
}
