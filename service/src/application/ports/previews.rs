//! Where a dry run's blast-radius preview goes: a note on the merge request the dry run
//! came from (the `gitlab` adapter posts it). Advice, not a verdict, so it is not queued
//! in the outbox: a preview that cannot be posted after a few tries is logged and dropped.

use futures::future::BoxFuture;

use crate::application::dry_run::DryRun;
use crate::domain::GitlabContext;

/// Posts dry-run previews.
pub trait PlanPreviews: Send + Sync {
    /// Posts (or updates) the preview of `plan` on the merge request of `cx`; the future
    /// owns what it needs, so it can be spawned.
    fn post(&self, plan: DryRun, cx: GitlabContext) -> BoxFuture<'static, ()>;
}
