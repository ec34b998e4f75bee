//! The bodies of notifications: the plain-text and HTML mail and the Slack Block Kit
//! message, rendered with minijinja from templates compiled into the binary. A directory
//! given with `--notify-templates` overrides any of them by file name; overrides are
//! rendered against a sample run at start-up, so a broken one is an error then, not a
//! lost notification later.

use std::path::Path;

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use super::error::NotifyError;
use crate::application::report::Report;
use crate::domain::{RunEvent, RunRow, RunState, StoredEvent};

/// Template names, as files in `--notify-templates`.
pub const NAMES: [&str; 3] = ["email.txt", "email.html", "slack.json"];

const BUILTIN: [(&str, &str); 3] = [
    ("email.txt", include_str!("templates/email.txt")),
    ("email.html", include_str!("templates/email.html")),
    ("slack.json", include_str!("templates/slack.json")),
];

/// Slack allows 10 fields per section block.
const SLACK_FIELDS: usize = 10;
/// Slack cuts header text at 150 characters.
const SLACK_HEADER: usize = 150;

/// One check's line, formatted once for every template.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLine {
    /// Check name.
    pub check: String,
    /// Phase.
    pub phase: String,
    /// Expectation as written.
    pub expect: String,
    /// Last value (rounded), or the probe error, or `—`.
    pub value: String,
    /// Lowest value, or `—`.
    pub min: String,
    /// Highest value, or `—`.
    pub max: String,
    /// Evaluations that met the expectation.
    pub met: u32,
    /// Evaluations.
    pub evaluations: u32,
    /// Whether the check held.
    pub ok: bool,
    /// Slack emoji code for the result.
    pub mark: &'static str,
}

/// One fault step's verification, formatted once for every template: its effect read
/// back after the apply, or `unchecked` when it was not.
#[derive(Debug, Clone, Serialize)]
pub struct FaultLine {
    /// Step name.
    pub step: String,
    /// Fault kind.
    pub kind: String,
    /// `verified`, `UNVERIFIED` or `unchecked`.
    pub state: &'static str,
    /// `affected/selected`, or `—` when not read back.
    pub coverage: String,
    /// What was read, per target.
    pub evidence: String,
    /// Not unverified.
    pub ok: bool,
    /// Slack emoji code for the state.
    pub mark: &'static str,
}

impl FaultLine {
    /// One line per verification, then one per fault step never read back.
    fn all(r: &Report) -> Vec<FaultLine> {
        let mut lines: Vec<FaultLine> = r
            .verifications
            .iter()
            .map(|v| FaultLine {
                step: v.step.clone(),
                kind: v.kind.clone(),
                state: if v.verified { "verified" } else { "UNVERIFIED" },
                coverage: v.coverage.clone(),
                evidence: v.evidence.clone(),
                ok: v.verified,
                mark: if v.verified {
                    ":white_check_mark:"
                } else {
                    ":x:"
                },
            })
            .collect();
        for f in &r.faults {
            if f.state == "unchecked" && !lines.iter().any(|l| l.step == f.step) {
                lines.push(FaultLine {
                    step: f.step.clone(),
                    kind: f.kind.clone(),
                    state: "unchecked",
                    coverage: "—".into(),
                    evidence: "not read back".into(),
                    ok: true,
                    mark: ":grey_question:",
                });
            }
        }
        lines
    }
}

/// Everything a template can use.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// The JSON report (same fields as the webhook body).
    pub r: Report,
    /// `FAILED`, `PASSED`, ...
    pub verdict_upper: String,
    /// Slack emoji code for the verdict.
    pub emoji: &'static str,
    /// The verdict's colour (the report's badge colours).
    pub colour: &'static str,
    /// Wall time, e.g. `12.3 s`.
    pub duration: String,
    /// Link to the report, if one is known.
    pub report_url: Option<String>,
    /// The environment named in the config.
    pub environment: Option<String>,
    /// `[faultline] FAILED checkout (staging)`.
    pub subject: String,
    /// `FAILED checkout`: Slack's notification text.
    pub summary: String,
    /// The Slack header (emoji, verdict, experiment), within Slack's limit.
    pub header: String,
    /// What GitLab triggered the run: `group/app@1a2b3c4d (pipeline 31, !7)`.
    pub trigger: Option<String>,
    /// Link to the triggering pipeline (or the MR, or the project).
    pub trigger_url: Option<String>,
    /// Every check, formatted.
    pub checks: Vec<CheckLine>,
    /// The checks in groups of ten (Slack's limit per section).
    pub check_batches: Vec<Vec<CheckLine>>,
    /// Each fault step's verification.
    pub faults: Vec<FaultLine>,
    /// The same in groups of ten (Slack's limit per section).
    pub fault_batches: Vec<Vec<FaultLine>>,
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(
        || "—".to_string(),
        |v| format!("{}", (v * 1e4).round() / 1e4),
    )
}

impl Message {
    /// The message about `r`, linking to `report_url`.
    pub fn new(r: Report, report_url: Option<String>, environment: Option<String>) -> Message {
        let verdict_upper = r.verdict.as_str().to_uppercase();
        let (emoji, colour) = match r.verdict {
            RunState::Passed => (":white_check_mark:", "#1a7f37"),
            RunState::Failed => (":x:", "#cf222e"),
            RunState::Aborted => (":warning:", "#bf8700"),
            RunState::Error => (":boom:", "#6e7781"),
            _ => (":hourglass:", "#0969da"),
        };
        let env_suffix = environment
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let checks: Vec<CheckLine> = r
            .checks
            .iter()
            .map(|c| CheckLine {
                check: c.check.clone(),
                phase: c.phase.clone(),
                expect: c.expect.clone(),
                value: match (c.last, &c.last_error) {
                    (Some(v), _) => num(Some(v)),
                    (None, Some(e)) => format!("no value: {e}"),
                    (None, None) => "—".into(),
                },
                min: num(c.min),
                max: num(c.max),
                met: c.evaluations - c.failures,
                evaluations: c.evaluations,
                ok: c.ok,
                mark: if c.ok { ":white_check_mark:" } else { ":x:" },
            })
            .collect();
        let header: String = format!("{emoji} {verdict_upper} {}{env_suffix}", r.experiment)
            .chars()
            .take(SLACK_HEADER)
            .collect();
        let faults = FaultLine::all(&r);
        Message {
            fault_batches: faults.chunks(SLACK_FIELDS).map(<[_]>::to_vec).collect(),
            faults,
            verdict_upper: verdict_upper.clone(),
            emoji,
            colour,
            duration: r
                .duration_seconds
                .map_or_else(|| "—".into(), |s| format!("{s:.1} s")),
            subject: format!("[faultline] {verdict_upper} {}{env_suffix}", r.experiment),
            summary: format!("{verdict_upper} {}{env_suffix}", r.experiment),
            header,
            check_batches: checks.chunks(SLACK_FIELDS).map(<[_]>::to_vec).collect(),
            checks,
            trigger: r.gitlab.as_ref().map(|g| g.summary()),
            trigger_url: r.gitlab.as_ref().and_then(trigger_url),
            report_url,
            environment,
            r,
        }
    }
}

/// The GitLab page of the event that started a run: its pipeline, else its merge
/// request, else the project.
fn trigger_url(g: &crate::domain::GitlabContext) -> Option<String> {
    let base = g.project_url.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    Some(match (g.pipeline_id, g.mr_iid) {
        (Some(p), _) => format!("{base}/-/pipelines/{p}"),
        (None, Some(mr)) => format!("{base}/-/merge_requests/{mr}"),
        (None, None) => base.to_string(),
    })
}

/// Slack mrkdwn needs `&`, `<` and `>` escaped, or user text can forge links/mentions.
fn mrkdwn(s: String) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The shipped templates, with any file of `dir` overriding the one of that name.
    pub fn load(dir: Option<&Path>) -> Result<Templates, NotifyError> {
        let mut env = Environment::new();
        env.add_filter("mrkdwn", mrkdwn);
        for (name, builtin) in BUILTIN {
            let source = match dir.map(|d| d.join(name)) {
                Some(p) if p.exists() => {
                    std::fs::read_to_string(&p).map_err(|source| NotifyError::ReadTemplate {
                        path: p.display().to_string(),
                        source,
                    })?
                }
                _ => builtin.to_string(),
            };
            env.add_template_owned(name, source)
                .map_err(|source| NotifyError::Template {
                    name: name.into(),
                    source,
                })?;
        }
        let t = Templates { env };
        // Fail now, not when a run ends: render each against a sample.
        let sample = Message::new(
            sample_report("sample <experiment> & co"),
            Some("https://faultline.invalid/r".into()),
            None,
        );
        t.email_text(&sample)?;
        t.email_html(&sample)?;
        t.slack(&sample)?;
        Ok(t)
    }

    fn render(&self, name: &str, m: &Message) -> Result<String, NotifyError> {
        let err = |source| NotifyError::Template {
            name: name.into(),
            source,
        };
        self.env
            .get_template(name)
            .and_then(|t| t.render(Value::from(Serde(m))))
            .map_err(err)
    }

    /// The mail's plain-text part.
    pub fn email_text(&self, m: &Message) -> Result<String, NotifyError> {
        self.render("email.txt", m)
    }

    /// The mail's HTML part.
    pub fn email_html(&self, m: &Message) -> Result<String, NotifyError> {
        self.render("email.html", m)
    }

    /// The Slack message (Block Kit JSON), checked to be JSON.
    pub fn slack(&self, m: &Message) -> Result<serde_json::Value, NotifyError> {
        let text = self.render("slack.json", m)?;
        serde_json::from_str(&text).map_err(NotifyError::SlackJson)
    }
}

/// A finished run with a check that failed, for checking templates at start-up: the run
/// and its events as the store would hand them back.
pub(crate) fn sample_report(experiment: &str) -> Report {
    let check = |phase: &str, value: f64, ok| RunEvent::CheckEvaluated {
        check: "availability".into(),
        phase: phase.into(),
        value: Some(value),
        expect: ">= 0.99".into(),
        ok,
        error: None,
    };
    let reason = "availability failed during";
    let events = [
        check("before", 1.0, true),
        RunEvent::FaultApplied {
            fault: "sample-f1-0".into(),
            kind: "networkDelay".into(),
            target: "netns <web>".into(),
            step: "delay".into(),
            agent: "in-process".into(),
            node: None,
        },
        RunEvent::FaultVerified {
            step: "delay".into(),
            kind: "networkDelay".into(),
            affected: 1,
            selected: 1,
            evidence: "netns <web>: qdisc netem delay 100ms on eth0 & 42 packets".into(),
        },
        check("during", 0.5, false),
        RunEvent::StateChanged {
            to: RunState::Error,
            reason: reason.into(),
        },
    ];
    let now = chrono::Utc::now();
    let run = RunRow {
        id: "sample".into(),
        experiment: experiment.into(),
        state: RunState::Error,
        reason: reason.into(),
        spec_json: "{}".into(),
        created_at: now,
        finished_at: Some(now),
        gitlab: None,
    };
    let events = (1..)
        .zip(events)
        .map(|(seq, event)| StoredEvent {
            seq,
            at: now,
            event,
        })
        .collect();
    Report::build(&run, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_templates_render_and_escape() {
        let t = Templates::load(None).unwrap();
        let mut r = sample_report("sample <experiment> & co");
        r.verdict = RunState::Failed;
        r.checks = (0..23)
            .map(|i| {
                let mut c = r.checks[i % 2].clone();
                c.check = format!("c{i}");
                c
            })
            .collect();
        let m = Message::new(
            r,
            Some("https://f.example/r/1".into()),
            Some("staging".into()),
        );
        assert_eq!(
            m.subject,
            "[faultline] FAILED sample <experiment> & co (staging)"
        );
        let html = t.email_html(&m).unwrap();
        assert!(
            html.contains("sample &lt;experiment&gt; &amp; co"),
            "{html}"
        );
        assert!(html.contains(">FAILED</td>") && html.contains(">held</td>"));
        let text = t.email_text(&m).unwrap();
        assert!(
            text.starts_with("FAILED: sample <experiment> & co (staging)"),
            "{text}"
        );
        assert!(
            text.contains("[FAILED] c1 (during): 0.5, expect >= 0.99"),
            "{text}"
        );
        let slack = t.slack(&m).unwrap();
        let blocks = slack["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(
            blocks[0]["text"]["text"],
            ":x: FAILED sample <experiment> & co (staging)"
        );
        assert_eq!(
            blocks[1]["fields"][0]["text"],
            "*Experiment*\nsample &lt;experiment&gt; &amp; co"
        );
        // 23 checks: three sections of at most ten fields.
        let sizes: Vec<usize> = blocks
            .iter()
            .filter(|b| {
                b["fields"].as_array().is_some_and(|f| {
                    f.iter()
                        .any(|x| x["text"].as_str().unwrap().contains("* ("))
                })
            })
            .map(|b| b["fields"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert_eq!(
            blocks.last().unwrap()["text"]["text"],
            "<https://f.example/r/1|Open the report>"
        );
    }

    #[test]
    fn the_verdict_shows_each_fault_verified_or_not_with_coverage_and_evidence() {
        let t = Templates::load(None).unwrap();
        let r = crate::application::report::model::tests::verified_report();
        let m = Message::new(r, None, None);
        let text = t.email_text(&m).unwrap();
        for line in [
            "  [verified] delay (networkDelay): 1/1 targets, netns web: qdisc netem delay 100ms on eth0, 42 packets\n",
            "  [UNVERIFIED] kill (podKill): 1/2 targets, pod shop/web-1: pod uid u1 still there, not terminating (phase Running); pod shop/web-0: pod is gone (404)\n",
            "  [unchecked] pause (processPause): — targets, not read back\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        let html = t.email_html(&m).unwrap().replace("&#x2f;", "/");
        assert!(
            html.contains(
                "color: #cf222e;\">UNVERIFIED</td>\n<td>1/2</td><td>pod shop/web-1: pod uid u1"
            ),
            "{html}"
        );
        assert!(html.contains(">verified</td>\n<td>1/1</td>"), "{html}");
        let slack = t.slack(&m).unwrap();
        let fields: Vec<&str> = slack["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["fields"].as_array())
            .flatten()
            .filter_map(|f| f["text"].as_str())
            .filter(|f| f.contains("Kill") || f.contains("delay") || f.contains("pause"))
            .collect();
        assert_eq!(
            fields,
            [
                ":white_check_mark: *delay* networkDelay verified 1/1\nnetns web: qdisc netem delay 100ms on eth0, 42 packets",
                ":x: *kill* podKill UNVERIFIED 1/2\npod shop/web-1: pod uid u1 still there, not terminating (phase Running); pod shop/web-0: pod is gone (404)",
                ":grey_question: *pause* processPause unchecked —\nnot read back",
            ]
        );
        // The webhook posts the report itself: its verifications and per-fault states.
        let body = serde_json::to_value(&m.r).unwrap();
        assert_eq!(body["verifications"][1]["verified"], false);
        assert_eq!(body["faults"][2]["state"], "unverified");
        assert_eq!(body["faults"][2]["coverage"], "1/2");
    }

    #[test]
    fn a_gitlab_triggered_run_names_its_commit_pipeline_and_merge_request_everywhere() {
        let t = Templates::load(None).unwrap();
        let mut r = sample_report("checkout");
        r.gitlab = Some(crate::domain::GitlabContext {
            event: "pipeline".into(),
            project_id: 1,
            project_path: "group/checkout".into(),
            project_url: "https://gitlab.example.org/group/checkout".into(),
            sha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2".into(),
            pipeline_id: Some(31),
            mr_iid: Some(7),
            ..Default::default()
        });
        let m = Message::new(r, None, None);
        let want = "group/checkout@bcbb5ec3 (pipeline 31, !7)";
        let url = "https://gitlab.example.org/group/checkout/-/pipelines/31";
        let text = t.email_text(&m).unwrap();
        assert!(text.contains(&format!("GitLab:    {want} {url}")), "{text}");
        // minijinja's HTML escaping writes `/` as `&#x2f;`, which browsers read as `/`.
        let html = t.email_html(&m).unwrap().replace("&#x2f;", "/");
        assert!(
            html.contains(&format!("<a href=\"{url}\">{want}</a>")),
            "{html}"
        );
        let slack = t.slack(&m).unwrap();
        let ctx = slack["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "context")
            .unwrap();
        assert_eq!(
            ctx["elements"][0]["text"],
            format!("GitLab: <{url}|{want}>")
        );
    }

    #[test]
    fn an_override_is_used_and_a_broken_one_is_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("email.txt"),
            "custom {{ verdict_upper }} {{ r.run }}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let m = Message::new(sample_report("sample <experiment> & co"), None, None);
        assert_eq!(t.email_text(&m).unwrap(), "custom ERROR sample");
        std::fs::write(dir.path().join("slack.json"), "{ \"text\": {{ summary }} ").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err();
        assert!(matches!(e, NotifyError::SlackJson(_)), "{e}");
        std::fs::write(dir.path().join("slack.json"), "{% if %}").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err();
        assert!(e.to_string().contains("slack.json"), "{e}");
    }
}
