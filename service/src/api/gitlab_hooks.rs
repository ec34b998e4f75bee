//! What the GitLab webhook and GitLab-triggered runs need from `serve --gitlab-config`:
//! the config, GitLab's API for previews, and the outbox for commit statuses.

use std::sync::Arc;

use crate::application::gitlab_trigger::GitlabConfig;
use crate::application::ports::{Destination, Outbox, PlanPreviews};
use crate::domain::RunState;

/// What the webhook needs, from `serve --gitlab-config`.
pub struct GitlabHooks {
    /// Projects, secrets and rules.
    pub config: GitlabConfig,
    /// GitLab's API, when configured: dry runs from merge-request pipelines post their
    /// preview through it.
    pub previews: Option<Arc<dyn PlanPreviews>>,
    /// The outbox GitLab statuses go through, to post `pending` as soon as a run is
    /// accepted (the engine's observer posts the later states).
    pub outbox: Option<Arc<dyn Outbox>>,
}

impl GitlabHooks {
    /// Queues the `pending` commit status of run `id`, just created from `cx`.
    pub fn accepted(&self, id: &str) {
        if let Some(o) = &self.outbox {
            let dest = [Destination::GitlabStatus {
                phase: "pending".into(),
            }];
            if let Err(e) = o.enqueue(id, RunState::Pending, &dest) {
                tracing::error!(run = %id, error = %e, "cannot queue the pending GitLab status");
            }
        }
    }
}
