//! What `faultline trigger` makes of a run's JSON report (`GET /api/v1/runs/{id}/report.json`,
//! schema `faultline.dev/report/v1`): the verdict table it prints at the end of `--wait` and
//! the GitLab Metrics Report that `--metrics` writes. Both are built on the client from the
//! one document, so they always agree with each other and with the JUnit file.

use faultline::domain::RunState;
use faultline_exporter::{MetricsReport, PhaseValues};
use serde::Deserialize;

/// The parts of the report `trigger` uses. Other fields are ignored, so a newer server
/// that adds some does not break an older CLI in a pinned CI image.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Experiment name.
    pub experiment: String,
    /// The verdict, or the state the run is still in.
    pub verdict: RunState,
    /// Wall time in seconds, once finished.
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    /// One entry per check and phase, in first-seen order.
    #[serde(default)]
    pub checks: Vec<CheckRow>,
}

/// A check's results in one phase (the report's `CheckSummary`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRow {
    /// Check name.
    pub check: String,
    /// before | during | after.
    pub phase: String,
    /// The expectation as written.
    pub expect: String,
    /// Evaluations recorded.
    #[serde(default)]
    pub evaluations: u32,
    /// Of which not met.
    #[serde(default)]
    pub failures: u32,
    /// Lowest value measured.
    #[serde(default)]
    pub min: Option<f64>,
    /// Highest value measured.
    #[serde(default)]
    pub max: Option<f64>,
    /// Last value measured.
    #[serde(default)]
    pub last: Option<f64>,
    /// Last probe error, if any.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Whether the check held in this phase.
    pub ok: bool,
}

/// The verdict table: one row per check and phase with the last, lowest and highest value,
/// the expectation and whether it held. Empty when the run has no check results yet.
pub fn verdict_table(r: &RunSummary) -> String {
    if r.checks.is_empty() {
        return String::new();
    }
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"));
    let rows: Vec<[String; 7]> = r
        .checks
        .iter()
        .map(|c| {
            let result = if c.ok {
                "ok".to_string()
            } else {
                let mut s = format!("NOT MET ({} of {} failed", c.failures, c.evaluations);
                if let Some(e) = &c.last_error {
                    s.push_str("; last error: ");
                    s.push_str(e);
                }
                s.push(')');
                s
            };
            [
                c.check.clone(),
                c.phase.clone(),
                num(c.last),
                num(c.min),
                num(c.max),
                c.expect.clone(),
                result,
            ]
        })
        .collect();
    let header = ["check", "phase", "value", "min", "max", "expect", "result"];
    // Column widths from the data: check names and expectations are the user's own text.
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            match i {
                // Numbers right-aligned so their decimal points line up.
                2..=4 => out.push_str(&format!("{}{cell}  ", " ".repeat(pad))),
                6 => out.push_str(cell),
                _ => out.push_str(&format!("{cell}{}  ", " ".repeat(pad))),
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}

/// The GitLab Metrics Report of the run (see [`faultline_exporter::metrics_report`]).
pub fn metrics_text(r: &RunSummary) -> Result<String, prometheus::Error> {
    let report = MetricsReport::new()?;
    for c in &r.checks {
        report.check(
            &r.experiment,
            &c.check,
            &c.phase,
            PhaseValues {
                last: c.last,
                min: c.min,
                max: c.max,
                ok: c.ok,
            },
        );
    }
    report.run(&r.experiment, r.verdict.as_str(), r.duration_seconds);
    Ok(report.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as the server sends it, with fields `trigger` ignores.
    fn summary() -> RunSummary {
        serde_json::from_value(serde_json::json!({
            "schema": "faultline.dev/report/v1",
            "run": "r1",
            "experiment": "checkout",
            "verdict": "failed",
            "reason": "availability failed during",
            "startedAt": "2026-12-01T10:00:00Z",
            "durationSeconds": 7.25,
            "checks": [
                { "check": "availability", "phase": "before", "expect": ">= 0.99",
                  "evaluations": 3, "failures": 0, "min": 1.0, "max": 1.0, "last": 1.0,
                  "lastError": null, "ok": true },
                { "check": "availability", "phase": "during", "expect": ">= 0.99",
                  "evaluations": 10, "failures": 4, "min": 0.5, "max": 1.0, "last": 0.6,
                  "lastError": "connection refused", "ok": false }
            ],
            "faults": [],
            "events": []
        }))
        .unwrap()
    }

    #[test]
    fn the_table_has_a_row_per_check_and_phase_with_values_and_the_outcome() {
        let t = verdict_table(&summary());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        let cols: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(
            cols,
            ["check", "phase", "value", "min", "max", "expect", "result"]
        );
        let before: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            before,
            [
                "availability",
                "before",
                "1.0000",
                "1.0000",
                "1.0000",
                ">=",
                "0.99",
                "ok"
            ]
        );
        assert!(
            lines[2].contains("0.6000")
                && lines[2].ends_with("NOT MET (4 of 10 failed; last error: connection refused)"),
            "{t}"
        );
        // Columns line up: the result column starts at the same offset on every row.
        let at = |l: &str, w: &str| l.find(w).unwrap();
        assert_eq!(at(lines[0], "result"), at(lines[1], "ok"));
        assert_eq!(at(lines[0], "result"), at(lines[2], "NOT MET"));
    }

    #[test]
    fn no_checks_no_table() {
        let mut s = summary();
        s.checks.clear();
        assert_eq!(verdict_table(&s), "");
    }

    #[test]
    fn metrics_carry_every_check_phase_the_verdict_and_the_duration() {
        let text = metrics_text(&summary()).unwrap();
        for want in [
            r#"faultline_check_value{check="availability",experiment="checkout",phase="before"} 1"#,
            r#"faultline_check_value{check="availability",experiment="checkout",phase="during"} 0.6"#,
            r#"faultline_check_min{check="availability",experiment="checkout",phase="during"} 0.5"#,
            r#"faultline_check_ok{check="availability",experiment="checkout",phase="during"} 0"#,
            r#"faultline_run_verdict{experiment="checkout",verdict="failed"} 1"#,
            r#"faultline_run_duration_seconds{experiment="checkout"} 7.25"#,
        ] {
            assert!(text.lines().any(|l| l == want), "missing {want} in\n{text}");
        }
    }
}
