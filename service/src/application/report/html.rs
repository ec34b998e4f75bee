//! The HTML report: verdict, a timeline of fault windows against check results, the
//! checks table and every event. Rendered with minijinja (auto-escaped) from
//! `report.html`, which is compiled into the binary.

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use super::distribution;
use super::model::Report;
use crate::domain::{RunEvent, RunState};

const TEMPLATE: &str = include_str!("report.html");
const TIMELINE: &str = include_str!("timeline.svg");
const WIDTH: f64 = 760.0;
const ROW: f64 = 22.0;

#[derive(Serialize)]
struct Row {
    label: String,
    y: f64,
}

#[derive(Serialize)]
struct Bar {
    x: f64,
    y: f64,
    w: f64,
    title: String,
}

#[derive(Serialize)]
struct EventLine {
    seq: u64,
    at: String,
    text: String,
}

/// One line of the events log, as a person reads it.
fn describe(ev: &RunEvent) -> String {
    match ev {
        RunEvent::StateChanged { to, reason } if reason.is_empty() => format!("-> {to}"),
        RunEvent::StateChanged { to, reason } => format!("-> {to}: {reason}"),
        RunEvent::CheckEvaluated {
            check,
            phase,
            value,
            expect,
            ok,
            error,
        } => {
            let v = value.map_or_else(|| error.clone().unwrap_or_default(), |v| format!("{v:.4}"));
            format!(
                "check {check} ({phase}) = {v}, expect {expect}: {}",
                if *ok { "met" } else { "NOT MET" }
            )
        }
        RunEvent::FaultApplied {
            fault,
            kind,
            target,
            step,
            agent,
            ..
        } => {
            // Events stored before the agent was recorded have none.
            let by = if agent.is_empty() {
                String::new()
            } else {
                format!(" by {agent}")
            };
            format!("applied {kind} on {target}{by} (step {step}, fault {fault})")
        }
        RunEvent::FaultRecovered { fault, outcome } => {
            format!("recovered fault {fault}: {outcome}")
        }
        RunEvent::FaultVerified { .. } | RunEvent::FaultUnverified { .. } => {
            crate::domain::verification_summary(ev)
        }
        RunEvent::Note { message } => message.clone(),
        RunEvent::StatusCheckDecided {
            check,
            step,
            passed,
            decision,
        } => format!(
            "status check {check} (step {step}) {}: {decision}",
            if *passed { "passed" } else { "FAILED" }
        ),
        RunEvent::TaskFinished { .. } => crate::domain::task_summary(ev),
        RunEvent::CheckCompared { check, comparison } => format!(
            "check {check} (during vs before): {}: {}",
            if comparison.ok { "held" } else { "FAILED" },
            comparison.reason
        ),
    }
}

#[derive(Serialize)]
struct Dot {
    x: f64,
    y: f64,
    ok: bool,
    title: String,
}

/// Renders `r` as a self-contained HTML page.
pub fn to_html(r: &Report) -> String {
    render(r, "report.html")
        .unwrap_or_else(|e| format!("<!doctype html><p>report rendering failed: {e}</p>"))
}

/// Renders only the timeline of `r` (the report's picture) as an SVG document: the
/// console shows it in the live run view and redraws it as events arrive.
pub fn timeline_svg(r: &Report) -> String {
    render(r, "timeline.svg")
        .map(|svg| svg.replacen("<svg ", "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 1))
        .unwrap_or_else(|e| {
            let msg = e.to_string().replace('&', "&amp;").replace('<', "&lt;");
            format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text y=\"12\">timeline rendering failed: {msg}</text></svg>")
        })
}

/// The report's templates, parsed once per process.
fn templates() -> &'static Environment<'static> {
    static TEMPLATES: std::sync::LazyLock<Environment<'static>> = std::sync::LazyLock::new(|| {
        let mut env = Environment::new();
        // Timestamps are stored to the nanosecond; a person reads milliseconds.
        env.add_filter("when", |t: String| {
            chrono::DateTime::parse_from_rfc3339(&t).map_or(t, |d| {
                d.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M:%S%.3f UTC")
                    .to_string()
            })
        });
        // An `.svg` name would not auto-escape by default; the timeline carries check names.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template("report.html", TEMPLATE)
            .expect("report template parses");
        env.add_template("timeline.svg", TIMELINE)
            .expect("timeline template parses");
        env
    });
    &TEMPLATES
}

/// Parses the report's templates now, so that the first report rendered does not wait for
/// it: `faultline run` calls this on a spare thread while the run waits on its probes.
pub fn prepare() {
    templates();
}

fn render(r: &Report, template: &str) -> Result<String, minijinja::Error> {
    let t0 = r.started_at;
    let t1 = r
        .finished_at
        .or_else(|| r.events.last().map(|e| e.at))
        .unwrap_or(t0);
    let span = ((t1 - t0).num_milliseconds() as f64 / 1e3).max(0.001);
    let x = |t: chrono::DateTime<chrono::Utc>| {
        ((t - t0).num_milliseconds() as f64 / 1e3 / span * WIDTH).clamp(0.0, WIDTH)
    };

    // One row per fault, then one per check.
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    for (i, f) in r.faults.iter().enumerate() {
        let y = i as f64 * ROW;
        rows.push(Row {
            label: format!("{} ({})", f.kind, f.step),
            y,
        });
        let (x0, x1) = (x(f.started_at), x(f.ended_at.unwrap_or(t1)));
        bars.push(Bar {
            x: x0,
            y,
            w: (x1 - x0).max(2.0),
            title: format!("{} on {}", f.kind, f.target),
        });
    }
    let mut check_rows: Vec<String> = Vec::new();
    let mut dots = Vec::new();
    for e in &r.events {
        if let RunEvent::CheckEvaluated {
            check,
            phase,
            value,
            ok,
            error,
            ..
        } = &e.event
        {
            let row = check_rows
                .iter()
                .position(|c| c == check)
                .unwrap_or_else(|| {
                    check_rows.push(check.clone());
                    check_rows.len() - 1
                });
            let shown =
                value.map_or_else(|| error.clone().unwrap_or_default(), |v| format!("{v:.4}"));
            dots.push(Dot {
                x: x(e.at),
                y: (r.faults.len() + row) as f64 * ROW,
                ok: *ok,
                title: format!("{check} ({phase}): {shown}"),
            });
        }
    }
    for (i, c) in check_rows.into_iter().enumerate() {
        rows.push(Row {
            label: c,
            y: (r.faults.len() + i) as f64 * ROW,
        });
    }
    let height = rows.len() as f64 * ROW + 30.0;
    let verdict_class = match r.verdict {
        RunState::Passed => "passed",
        RunState::Failed => "failed",
        RunState::Aborted => "aborted",
        RunState::Error => "error",
        _ => "running",
    };
    let events: Vec<EventLine> = r
        .events
        .iter()
        .map(|e| EventLine {
            seq: e.seq,
            at: e.at.format("%H:%M:%S%.3f").to_string(),
            text: describe(&e.event),
        })
        .collect();
    let distributions: Vec<distribution::Plot> = r
        .checks
        .iter()
        .filter_map(|c| {
            c.comparison
                .as_ref()
                .map(|cmp| distribution::plot(&c.check, cmp))
        })
        .collect();
    let tmpl = templates()
        .get_template(template)
        .expect("report templates are registered");
    tmpl.render(context! {
        r => Value::from(Serde(r)),
        rows => Value::from(Serde(&rows)),
        bars => Value::from(Serde(&bars)),
        dots => Value::from(Serde(&dots)),
        events => Value::from(Serde(&events)),
        width => WIDTH,
        height => height,
        span_seconds => format!("{span:.1}"),
        verdict_class => verdict_class,
        distributions => Value::from(Serde(&distributions)),
        dist_width => distribution::WIDTH + distribution::LEFT,
        dist_height => distribution::HEIGHT + 60.0,
        dist_left => distribution::LEFT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::report::model::tests::{compared_report, sample_report};

    #[test]
    fn a_comparison_shows_both_distributions() {
        let html = to_html(&compared_report());
        assert!(
            html.contains("<h2>Compared with the baseline</h2>"),
            "{html}"
        );
        assert_eq!(html.matches("<g class=\"window before\">").count(), 1);
        assert_eq!(html.matches("<g class=\"window during\">").count(), 1);
        // Every kept sample is a dot: 12 before, 13 during (one failed).
        assert_eq!(html.matches("r=\"1.6\"").count(), 25, "{html}");
        assert!(html.contains("n = 14, median 37.50 ms, 1 failed"), "{html}");
        assert!(html.contains("maxIncrease 20% vs before"));
        assert!(
            html.contains("mann-whitney U = "),
            "the verdict line is shown"
        );
        assert!(!html.contains("report rendering failed"));
    }

    #[test]
    fn the_verification_section_shows_each_faults_state_coverage_and_evidence() {
        let html = to_html(&crate::application::report::model::tests::verified_report());
        let section = &html[html.find("<h2>Verification</h2>").expect("the section")..];
        let section = &section[..section.find("<h2>Events</h2>").unwrap()];
        for row in [
            "<td>delay</td><td>networkDelay</td><td>netns web</td>\n<td class=\"good\">verified</td>\n<td>1&#x2f;1</td><td>qdisc netem delay 100ms on eth0, 42 packets</td>",
            "<td>pause</td><td>processPause</td><td>pid 7</td>\n<td class=\"muted\">unchecked</td>\n<td>—</td><td>not read back</td>",
            "<td>kill</td><td>podKill</td><td>pod shop&#x2f;web-0</td>\n<td class=\"bad\">unverified</td>\n<td>1&#x2f;2</td><td>pod is gone (404)</td>",
            "<td class=\"bad\">unverified</td>\n<td>1&#x2f;2</td><td>pod uid u1 still there, not terminating (phase Running)</td>",
        ] {
            assert!(section.contains(row), "missing {row} in {section}");
        }
    }

    #[test]
    fn an_applied_fault_names_its_agent_when_the_event_has_one() {
        let ev = |agent: &str| RunEvent::FaultApplied {
            fault: "r1-f1-0".into(),
            kind: "processPause".into(),
            target: "pid 7".into(),
            step: "pause".into(),
            agent: agent.into(),
            node: None,
        };
        assert_eq!(
            describe(&ev("http://10.0.0.5:7150")),
            "applied processPause on pid 7 by http://10.0.0.5:7150 (step pause, fault r1-f1-0)"
        );
        assert_eq!(
            describe(&ev("")),
            "applied processPause on pid 7 (step pause, fault r1-f1-0)"
        );
    }

    #[test]
    fn the_timeline_alone_is_the_reports_picture_as_an_svg_document() {
        let r = sample_report();
        let svg = timeline_svg(&r);
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" "),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(svg.contains("<title>networkDelay on netns web</title>"));
        assert_eq!(svg.matches("<circle").count(), 5, "one dot per evaluation");
        // The same picture the page draws, byte for byte.
        let inline = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
        assert!(to_html(&r).contains(inline.trim()));
    }

    #[test]
    fn the_page_shows_the_verdict_checks_and_fault_windows_escaped() {
        let html = to_html(&sample_report());
        assert!(
            html.contains("checkout &lt;stress&gt; &amp; co"),
            "experiment name must be escaped"
        );
        assert!(!html.contains("<stress>"));
        assert!(html.contains("class=\"verdict failed\">failed</span>"));
        assert!(
            html.contains("<td class=\"bad\">FAILED</td>"),
            "the failed during check is marked"
        );
        assert!(
            html.contains("<title>networkDelay on netns web</title>"),
            "the fault window is drawn"
        );
        assert_eq!(
            html.matches("<circle").count(),
            5,
            "one dot per check evaluation"
        );
        assert!(!html.contains("report rendering failed"));
        assert!(
            !html.contains("not recorded"),
            "the recovered fault shows its recovery time"
        );
        assert!(html.contains("started 20"), "the start time is shown");
        assert!(html.contains("applied networkDelay on netns web (step delay, fault f1)"));
        assert!(
            html.contains("<td>0.97</td>"),
            "the max during value is shown rounded: {html}"
        );
    }
}
