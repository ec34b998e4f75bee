//! The run as a record: what it ran, where it got to, why it ended, and what started it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::state::RunState;
use super::trigger::GitlabContext;

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// Experiment name.
    pub experiment: String,
    /// Current state (the verdict once terminal).
    pub state: RunState,
    /// Why it ended the way it did, once terminal.
    pub reason: String,
    /// The experiment as JSON, as it was when the run was created.
    pub spec_json: String,
    /// When the run was created.
    pub created_at: DateTime<Utc>,
    /// When the run reached a terminal state.
    pub finished_at: Option<DateTime<Utc>>,
    /// The GitLab event that started the run, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<GitlabContext>,
}
