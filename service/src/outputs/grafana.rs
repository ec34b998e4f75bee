//! Grafana annotations for runs: a region per fault window (created at injection, its end
//! patched at recovery), the verdict added to every region's tags at the end, and a point
//! annotation for the verdict. Tags: `faultline`, the experiment, the fault kind (and the
//! verdict), so a dashboard's annotation query on the `faultline` tag shows them all.
//!
//! Sending is the exporter's [`Annotations`] sender: queued, persisted (in a file, or in
//! the queue replicas on PostgreSQL share: `grafana_shared.rs`), retried. This
//! observer only turns events into queue operations, so it never blocks a run.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use faultline_exporter::grafana::{
    AnnotationPatch, Annotations, GrafanaClient, GrafanaConfig, NewAnnotation, Op, Pending,
    SenderConfig, SenderError,
};

use crate::application::ports::observe::{RunInfo, RunObserver};
use crate::domain::RunEvent;

/// The tag every faultline annotation carries.
pub const TAG: &str = "faultline";

/// Turns a run id into the URL of its report, for the annotation text.
pub type ReportLink = Box<dyn Fn(&str) -> String + Send + Sync>;

/// A fault window annotated for a run still going.
struct Region {
    key: String,
    tags: Vec<String>,
}

/// Annotates runs in Grafana.
pub struct GrafanaObserver {
    sender: Annotations,
    dashboard_uid: Option<String>,
    report_link: ReportLink,
    runs: Mutex<HashMap<String, Vec<Region>>>,
}

impl GrafanaObserver {
    /// Starts the sender (queue file `grafana/annotations.jsonl` under `state_dir`; what
    /// an earlier process left there is sent first) and returns the observer. Needs a
    /// tokio runtime. Its metric families are registered with [`Annotations::register_metrics`]
    /// on [`GrafanaObserver::sender`].
    pub fn start(
        cfg: GrafanaConfig,
        state_dir: &Path,
        sender_cfg: SenderConfig,
        report_link: ReportLink,
    ) -> Result<GrafanaObserver, SenderError> {
        let dashboard_uid = cfg.dashboard_uid.clone();
        let client = GrafanaClient::new(cfg)?;
        let sender = Annotations::start(
            client,
            &state_dir.join("grafana").join("annotations.jsonl"),
            sender_cfg,
        )?;
        Ok(GrafanaObserver {
            sender,
            dashboard_uid,
            report_link,
            runs: Mutex::new(HashMap::new()),
        })
    }

    /// Like [`GrafanaObserver::start`], with the operations kept in `queue` (the queue
    /// the replicas on one PostgreSQL store share, `grafana_shared.rs`) instead of a file.
    pub fn start_with(
        cfg: GrafanaConfig,
        queue: Box<dyn Pending>,
        sender_cfg: SenderConfig,
        report_link: ReportLink,
    ) -> Result<GrafanaObserver, SenderError> {
        let dashboard_uid = cfg.dashboard_uid.clone();
        let client = GrafanaClient::new(cfg)?;
        let sender = Annotations::start_with(client, queue, sender_cfg)?;
        Ok(GrafanaObserver {
            sender,
            dashboard_uid,
            report_link,
            runs: Mutex::new(HashMap::new()),
        })
    }

    /// The sender, to flush it before the process exits.
    pub fn sender(&self) -> &Annotations {
        &self.sender
    }

    fn regions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Region>>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(run: &str, fault: &str) -> String {
    format!("{run}/{fault}")
}

/// `, GitLab group/app@1a2b3c4d (pipeline 31, !7)` for a GitLab-triggered run.
fn gitlab_suffix(run: &RunInfo) -> String {
    run.gitlab
        .as_ref()
        .map(|g| format!(", GitLab {}", html(&g.summary())))
        .unwrap_or_default()
}

/// Escapes text for Grafana's annotation text, which is rendered as HTML.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl RunObserver for GrafanaObserver {
    fn observe(&self, run: &RunInfo, event: &RunEvent, at: DateTime<Utc>) {
        let ms = at.timestamp_millis();
        let link = (self.report_link)(&run.id);
        match event {
            RunEvent::FaultApplied {
                fault,
                kind,
                target,
                step,
                ..
            } => {
                let tags = vec![TAG.to_string(), run.experiment.clone(), kind.clone()];
                let key = key(&run.id, fault);
                self.sender.push(Op::Create {
                    key: key.clone(),
                    annotation: NewAnnotation {
                        dashboard_uid: self.dashboard_uid.clone(),
                        time: ms,
                        time_end: None,
                        tags: tags.clone(),
                        text: format!(
                            "faultline: {} on {} (step {}), experiment {}, run {}{} — <a href=\"{}\">report</a>",
                            html(kind),
                            html(target),
                            html(step),
                            html(&run.experiment),
                            html(&run.id),
                            gitlab_suffix(run),
                            html(&link)
                        ),
                    },
                });
                self.regions()
                    .entry(run.id.clone())
                    .or_default()
                    .push(Region { key, tags });
            }
            RunEvent::FaultRecovered { fault, .. } => {
                self.sender.push(Op::Patch {
                    key: key(&run.id, fault),
                    patch: AnnotationPatch {
                        time_end: Some(ms),
                        ..AnnotationPatch::default()
                    },
                });
            }
            RunEvent::StateChanged { to, reason } if to.is_terminal() => {
                let verdict = to.as_str().to_string();
                let regions = self.regions().remove(&run.id).unwrap_or_default();
                for r in regions {
                    let mut tags = r.tags;
                    tags.push(verdict.clone());
                    self.sender.push(Op::Patch {
                        key: r.key,
                        patch: AnnotationPatch {
                            tags: Some(tags),
                            ..AnnotationPatch::default()
                        },
                    });
                }
                self.sender.push(Op::Create {
                    key: key(&run.id, "verdict"),
                    annotation: NewAnnotation {
                        dashboard_uid: self.dashboard_uid.clone(),
                        time: ms,
                        time_end: None,
                        tags: vec![
                            TAG.to_string(),
                            run.experiment.clone(),
                            "verdict".into(),
                            verdict.clone(),
                        ],
                        text: format!(
                            "faultline verdict: {} — {} (experiment {}, run {}{}) — <a href=\"{}\">report</a>",
                            html(&verdict),
                            html(reason),
                            html(&run.experiment),
                            html(&run.id),
                            gitlab_suffix(run),
                            html(&link)
                        ),
                    },
                });
                self.sender.push(Op::Forget {
                    prefix: format!("{}/", run.id),
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_triggered_runs_name_their_commit_in_the_annotation_text() {
        let mut run = RunInfo {
            id: "r1".into(),
            experiment: "e".into(),
            gitlab: None,
        };
        assert_eq!(gitlab_suffix(&run), "");
        run.gitlab = Some(crate::domain::GitlabContext {
            project_path: "g/<app>".into(),
            sha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2".into(),
            pipeline_id: Some(31),
            ..Default::default()
        });
        assert_eq!(
            gitlab_suffix(&run),
            ", GitLab g/&lt;app&gt;@bcbb5ec3 (pipeline 31)"
        );
    }
}
