//! Reporting back to GitLab: the commit status of each GitLab-triggered run (running,
//! then success or failed) and a verdict note on its merge request. Both go through the
//! notification outbox, so a GitLab outage delays them but never loses the verdict, and a
//! restart resumes them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::client::{CommitStatus, GitlabClient, StatusState};
use crate::application::ports::observe::{RunInfo, RunObserver};
use crate::application::ports::{DeliveryChannel, Destination, Outbox, SendError};
use crate::application::report::Report;
use crate::domain::{RunEvent, RunState};

/// Queues the GitLab posts of runs that GitLab started.
pub struct GitlabObserver {
    outbox: Arc<dyn Outbox>,
}

impl GitlabObserver {
    /// An observer writing to `outbox` (the notification outbox, which sends GitLab's
    /// entries back through this adapter's [`DeliveryChannel`]).
    pub fn new(outbox: impl Outbox + 'static) -> GitlabObserver {
        GitlabObserver {
            outbox: Arc::new(outbox),
        }
    }
}

impl RunObserver for GitlabObserver {
    fn observe(&self, run: &RunInfo, event: &RunEvent, _at: DateTime<Utc>) {
        let RunEvent::StateChanged { to, .. } = event else {
            return;
        };
        let dests = match to {
            RunState::CheckingBefore => vec![Destination::GitlabStatus {
                phase: "running".into(),
            }],
            t if t.is_terminal() => vec![
                Destination::GitlabStatus {
                    phase: "final".into(),
                },
                Destination::GitlabNote,
            ],
            _ => return,
        };
        // The run's GitLab context, read from the store when the run was prepared.
        let Some(cx) = &run.gitlab else { return };
        let dests: Vec<Destination> = dests
            .into_iter()
            .filter(|d| *d != Destination::GitlabNote || cx.mr_iid.is_some())
            .collect();
        if let Err(e) = self.outbox.enqueue(&run.id, *to, &dests) {
            tracing::error!(run = %run.id, error = %e, "cannot queue the GitLab status");
        }
    }
}

/// GitLab's state for a run in `state`.
pub fn status_state(state: RunState) -> StatusState {
    match state {
        RunState::Pending => StatusState::Pending,
        RunState::Passed => StatusState::Success,
        RunState::Failed | RunState::Aborted | RunState::Error => StatusState::Failed,
        _ => StatusState::Running,
    }
}

/// The status name: one per experiment, so several experiments gate one commit.
pub fn status_name(experiment: &str) -> String {
    format!("faultline/{experiment}")
}

/// The hidden marker that finds an experiment's note again on later runs.
pub fn note_marker(experiment: &str) -> String {
    format!("<!-- faultline:verdict:{experiment} -->")
}

fn emoji(state: RunState) -> &'static str {
    match state {
        RunState::Passed => ":white_check_mark:",
        RunState::Failed => ":x:",
        RunState::Aborted => ":octagonal_sign:",
        RunState::Error => ":warning:",
        _ => ":hourglass:",
    }
}

fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{}", (v * 1e4).round() / 1e4))
}

/// Markdown cells may not hold `|` or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The merge-request note for `report`.
pub fn note_body(report: &Report, link: Option<&str>) -> String {
    let mut b = note_marker(&report.experiment);
    b.push_str(&format!(
        "\n### {} faultline: `{}` {}\n\n",
        emoji(report.verdict),
        report.experiment,
        report.verdict.as_str().to_uppercase()
    ));
    let mut line = format!("Run `{}`", report.run);
    if let Some(cx) = &report.gitlab {
        line.push_str(&format!(" on `{}`", cx.summary()));
    }
    if let Some(d) = report.duration_seconds {
        line.push_str(&format!(", {d:.1} s"));
    }
    if let Some(l) = link {
        line.push_str(&format!(" · [report]({l})"));
    }
    b.push_str(&line);
    b.push_str("\n\n");
    if !report.reason.is_empty() {
        b.push_str(&format!("> {}\n\n", cell(&report.reason)));
    }
    if !report.checks.is_empty() {
        b.push_str(
            "| check | phase | expect | last | min | max | ok |\n|---|---|---|---|---|---|---|\n",
        );
        for c in &report.checks {
            b.push_str(&format!(
                "| {} | {} | `{}` | {} | {} | {} | {} |\n",
                cell(&c.check),
                c.phase,
                cell(&c.expect),
                value(c.last),
                value(c.min),
                value(c.max),
                if c.ok { ":white_check_mark:" } else { ":x:" }
            ));
        }
    }
    if !report.faults.is_empty() {
        b.push_str(&format!(
            "\nFaults: {}\n",
            report
                .faults
                .iter()
                .map(|f| format!("`{}` on {}", f.kind, cell(&f.target)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    b.push_str("\n<sub>Updated on every run of this experiment for this merge request.</sub>\n");
    b
}

/// Sends one GitLab outbox entry for `report`.
pub async fn send(
    client: &GitlabClient,
    dest: &Destination,
    report: &Report,
    link: Option<&str>,
) -> Result<(), SendError> {
    let cx = report.gitlab.as_ref().ok_or_else(|| {
        SendError::Permanent("the run was not triggered from GitLab: no commit to report on".into())
    })?;
    match dest {
        Destination::GitlabStatus { phase } => {
            // Each post says the state it was queued for (a late retry of `running` after
            // the verdict is refused by GitLab's own state machine, which counts as sent);
            // `final` says the verdict.
            let state = match phase.as_str() {
                "pending" => RunState::Pending,
                "running" if !report.verdict.is_terminal() => report.verdict,
                "running" => RunState::CheckingBefore,
                _ => report.verdict,
            };
            let mut description = match state {
                s if s.is_terminal() => format!("{}: {}", s.as_str(), report.reason),
                RunState::Pending => "chaos experiment queued".to_string(),
                s => format!("chaos experiment {}", s.as_str()),
            };
            description = description.chars().take(255).collect();
            let status = CommitStatus {
                state: status_state(state),
                name: status_name(&report.experiment),
                target_url: link.map(str::to_string),
                description,
                pipeline_id: cx.pipeline_id,
                git_ref: cx.git_ref.clone(),
            };
            client.set_status(cx.project_id, &cx.sha, &status).await
        }
        Destination::GitlabNote => {
            let Some(iid) = cx.mr_iid else {
                return Err(SendError::Permanent(
                    "the run belongs to no merge request".into(),
                ));
            };
            client
                .upsert_note(
                    cx.project_id,
                    iid,
                    &note_marker(&report.experiment),
                    &note_body(report, link),
                )
                .await
        }
        other => Err(SendError::Permanent(format!(
            "not a GitLab destination: {}",
            other.key()
        ))),
    }
}

impl DeliveryChannel for GitlabClient {
    fn send<'a>(
        &'a self,
        dest: &'a Destination,
        report: &'a Report,
        link: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(send(self, dest, report, link))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_gitlab_and_aborts_close_the_gate() {
        assert_eq!(status_state(RunState::Injecting), StatusState::Running);
        assert_eq!(status_state(RunState::Passed), StatusState::Success);
        assert_eq!(status_state(RunState::Aborted), StatusState::Failed);
        assert_eq!(status_state(RunState::Pending), StatusState::Pending);
    }

    #[test]
    fn the_note_carries_its_marker_and_escapes_cells() {
        let mut r = crate::application::report::sample_report();
        r.reason = "p99 | too high\nsecond line".into();
        let b = note_body(&r, Some("http://f/r.html"));
        assert!(b.starts_with(&note_marker(&r.experiment)), "{b}");
        assert!(b.contains("p99 \\| too high second line"), "{b}");
        assert!(b.contains("[report](http://f/r.html)"), "{b}");
    }

    /// The outbox port, faked: what the observer queued.
    #[derive(Default)]
    struct Queued(std::sync::Mutex<Vec<(String, RunState, Vec<Destination>)>>);

    impl Outbox for Arc<Queued> {
        fn enqueue(
            &self,
            run: &str,
            verdict: RunState,
            dests: &[Destination],
        ) -> Result<usize, crate::application::ports::StoreError> {
            let mut q = self.0.lock().unwrap();
            q.push((run.into(), verdict, dests.to_vec()));
            Ok(dests.len())
        }
    }

    #[test]
    fn gitlab_runs_queue_a_running_status_then_the_verdict_and_a_note() {
        let queued = Arc::new(Queued::default());
        let observer = GitlabObserver::new(queued.clone());
        let cx = crate::domain::GitlabContext {
            mr_iid: Some(7),
            ..Default::default()
        };
        let run = RunInfo {
            id: "r1".into(),
            experiment: "e".into(),
            gitlab: Some(cx),
        };
        let to = |to| RunEvent::StateChanged {
            to,
            reason: String::new(),
        };
        for state in [
            RunState::CheckingBefore,
            RunState::Injecting,
            RunState::Passed,
        ] {
            observer.observe(&run, &to(state), Utc::now());
        }
        // A run GitLab did not start is not reported there.
        let local = RunInfo {
            gitlab: None,
            ..run.clone()
        };
        observer.observe(&local, &to(RunState::Failed), Utc::now());
        let running = Destination::GitlabStatus {
            phase: "running".into(),
        };
        let last = Destination::GitlabStatus {
            phase: "final".into(),
        };
        assert_eq!(
            *queued.0.lock().unwrap(),
            [
                ("r1".to_string(), RunState::CheckingBefore, vec![running]),
                (
                    "r1".to_string(),
                    RunState::Passed,
                    vec![last, Destination::GitlabNote]
                ),
            ]
        );
    }
}
