//! JUnit XML, as GitLab reads it (`artifacts: reports: junit`): one test suite per run,
//! one test case per check and phase and one per fault, so a merge request shows which
//! SLO failed in which phase.

use super::model::Report;
use crate::domain::RunState;
use crate::domain::compare::show;

/// Escapes text for XML attributes and content.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn fmt_value(v: Option<f64>) -> String {
    v.map_or_else(|| "none".to_string(), |v| format!("{v}"))
}

/// A failed comparison: the verdict line and both windows' summaries.
fn comparison_text(c: &crate::domain::Comparison) -> String {
    let unit = c.unit.as_deref();
    let window = |name: &str, s: &crate::domain::SampleSummary| {
        format!(
            "{name}: {} samples ({} failed), median {}, quartiles {} .. {}",
            s.count,
            s.failed,
            show(s.median, unit),
            show(s.q1, unit),
            show(s.q3, unit)
        )
    };
    format!(
        "{} vs before: {}; {}; {}",
        c.limit,
        c.reason,
        window("before", &c.baseline),
        window("during", &c.during)
    )
}

/// Renders `r` as a JUnit XML document.
pub fn to_junit(r: &Report) -> String {
    let mut cases = Vec::new();
    for c in &r.checks {
        let name = format!("{} ({})", c.check, c.phase);
        let body = if c.ok {
            String::new()
        } else {
            let msg = if let Some(cmp) = &c.comparison {
                comparison_text(cmp)
            } else {
                format!(
                    "expected {}; {} of {} evaluations failed; last {} (min {}, max {}){}",
                    c.expect,
                    c.failures,
                    c.evaluations,
                    fmt_value(c.last),
                    fmt_value(c.min),
                    fmt_value(c.max),
                    c.last_error
                        .as_ref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                )
            };
            format!(
                "<failure message=\"{}\" type=\"slo\">{}</failure>",
                esc(&msg),
                esc(&msg)
            )
        };
        cases.push(format!(
            "    <testcase classname=\"{}.steady-state\" name=\"{}\">{body}</testcase>",
            esc(&r.experiment),
            esc(&name)
        ));
    }
    for f in &r.faults {
        let name = format!("{} on {} ({})", f.kind, f.target, f.step);
        let secs = f
            .ended_at
            .map(|e| (e - f.started_at).num_milliseconds() as f64 / 1e3)
            .unwrap_or(0.0);
        let seen = r.verifications.iter().rev().find(|v| v.step == f.step);
        let body = if f.ended_at.is_none() {
            "<failure message=\"no recovery recorded\" type=\"recovery\"/>".to_string()
        } else if let Some(v) = seen.filter(|v| !v.verified) {
            format!(
                "<failure message=\"fault did not take effect ({} targets): {}\" type=\"unverified\"/>",
                esc(&v.coverage),
                esc(&v.evidence)
            )
        } else {
            let state = match seen {
                Some(v) => format!("verified ({} targets): {}; ", v.coverage, v.evidence),
                None => format!("{}; ", f.state),
            };
            format!(
                "<system-out>{}recovered: {}</system-out>",
                esc(&state),
                esc(f.outcome.as_deref().unwrap_or(""))
            )
        };
        cases.push(format!(
            "    <testcase classname=\"{}.faults\" name=\"{}\" time=\"{secs:.3}\">{body}</testcase>",
            esc(&r.experiment),
            esc(&name)
        ));
    }
    // The verdict itself is a test case, so an aborted or errored run with no failing
    // check still fails the pipeline's test report.
    let verdict_body = match r.verdict {
        RunState::Passed => String::new(),
        RunState::Failed => format!("<failure message=\"{}\" type=\"verdict\"/>", esc(&r.reason)),
        other => format!(
            "<error message=\"{}: {}\" type=\"{other}\"/>",
            other,
            esc(&r.reason)
        ),
    };
    cases.push(format!(
        "    <testcase classname=\"{}\" name=\"verdict\" time=\"{:.3}\">{verdict_body}</testcase>",
        esc(&r.experiment),
        r.duration_seconds.unwrap_or(0.0)
    ));
    let failures = cases.iter().filter(|c| c.contains("<failure")).count();
    let errors = cases.iter().filter(|c| c.contains("<error")).count();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"faultline: {}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\" timestamp=\"{}\">\n    <properties>\n      <property name=\"run\" value=\"{}\"/>\n      <property name=\"verdict\" value=\"{}\"/>\n    </properties>\n{}\n  </testsuite>\n</testsuites>\n",
        esc(&r.experiment),
        cases.len(),
        r.duration_seconds.unwrap_or(0.0),
        r.started_at.format("%Y-%m-%dT%H:%M:%S"),
        esc(&r.run),
        r.verdict,
        cases.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::report::model::tests::{compared_report, sample_report};

    #[test]
    fn a_failed_comparison_carries_its_values() {
        let xml = to_junit(&compared_report());
        let case = xml
            .lines()
            .find(|l| l.contains("name=\"latency (during)\""))
            .unwrap();
        for needle in [
            "maxIncrease 20% vs before: median 10.55 ms -&gt; 37.50 ms",
            "mann-whitney U = ",
            "p = ",
            "before: 12 samples (0 failed), median 10.55 ms",
            "during: 14 samples (1 failed), median 37.50 ms",
        ] {
            assert!(case.contains(needle), "{needle}: {case}");
        }
    }

    #[test]
    fn failed_checks_and_the_verdict_are_failures_and_names_are_escaped() {
        let xml = to_junit(&sample_report());
        assert!(
            xml.contains("name=\"faultline: checkout &lt;stress&gt; &amp; co\""),
            "{xml}"
        );
        assert!(
            xml.contains("tests=\"5\" failures=\"2\" errors=\"0\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "name=\"availability (during)\"><failure message=\"expected &gt;= 0.99; 2 of 2"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"availability (after)\"></testcase>"),
            "{xml}"
        );
        assert!(xml.contains("<property name=\"verdict\" value=\"failed\"/>"));
        assert!(!xml.contains(" & "), "unescaped ampersand");
    }

    #[test]
    fn control_characters_cannot_break_the_document() {
        assert_eq!(esc("a\u{1}b\"<"), "a\u{fffd}b&quot;&lt;");
    }
}
