//! The blast-radius preview: a dry run submitted from a merge-request pipeline posts (or
//! updates) one note on the merge request saying what the experiment would hit and which
//! guard applies — before anyone merges.

use futures::future::BoxFuture;

use super::client::GitlabClient;
use crate::application::dry_run::DryRun;
use crate::application::ports::{PlanPreviews, SendError};
use crate::domain::GitlabContext;

/// The hidden marker of an experiment's preview note.
pub fn marker(experiment: &str) -> String {
    format!("<!-- faultline:preview:{experiment} -->")
}

/// The note for `plan`.
pub fn body(plan: &DryRun, cx: &GitlabContext) -> String {
    let mut b = marker(&plan.experiment);
    b.push_str(&format!(
        "\n### :mag: faultline preview: `{}` on `{}`\n\n",
        plan.experiment,
        cx.summary()
    ));
    match &plan.refusal {
        Some(why) => b.push_str(&format!(
            ":no_entry: **Would be refused before injecting:** {why}\n\n"
        )),
        None => b.push_str(":white_check_mark: The guards allow this run.\n\n"),
    }
    if plan.faults.is_empty() {
        b.push_str("No faults.\n");
    } else {
        b.push_str("| at | step | fault | target | for |\n|---|---|---|---|---|\n");
        for f in &plan.faults {
            b.push_str(&format!(
                "| +{:.0} s | {} | `{}` | {} | {} |\n",
                f.starts_at_seconds,
                f.step.replace('|', "\\|"),
                f.kind,
                f.target.replace('|', "\\|"),
                if f.duration.is_some() {
                    f.holds()
                } else {
                    "once".into()
                },
            ));
        }
    }
    if !plan.checks.is_empty() {
        b.push_str(&format!(
            "\nSteady state judged by: {}\n",
            plan.checks.join(", ")
        ));
    }
    b.push_str("\n<sub>Dry run: nothing was injected. Updated by every preview of this experiment.</sub>\n");
    b
}

/// Posts or updates the preview note, retrying a GitLab hiccup a few times. A preview is
/// advice, not a verdict: after the retries it is logged and dropped.
pub async fn post(client: GitlabClient, plan: DryRun, cx: GitlabContext) {
    let Some(iid) = cx.mr_iid else { return };
    let text = body(&plan, &cx);
    let mut delay = std::time::Duration::from_millis(500);
    for attempt in 1..=4 {
        match client
            .upsert_note(cx.project_id, iid, &marker(&plan.experiment), &text)
            .await
        {
            Ok(()) => return,
            Err(SendError::Retry { reason, after }) if attempt < 4 => {
                tracing::warn!(%reason, attempt, "preview note not posted; retrying");
                tokio::time::sleep(after.unwrap_or(delay)).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!(error = %e, experiment = %plan.experiment, "preview note not posted");
                return;
            }
        }
    }
}

impl PlanPreviews for GitlabClient {
    fn post(&self, plan: DryRun, cx: GitlabContext) -> BoxFuture<'static, ()> {
        Box::pin(post(self.clone(), plan, cx))
    }
}
