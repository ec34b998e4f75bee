//! The preflight veto's port: ask an outside service whether a run may inject.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;

use crate::domain::Actor;

/// What the veto is sent: enough to judge the blast radius without reading the spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreflightPlan {
    /// The run's id.
    pub run: String,
    /// The experiment's name.
    pub experiment: String,
    /// Who asked for the run.
    pub trigger: Actor,
    /// The namespaces its pod targets are in (empty for local targets).
    pub namespaces: Vec<String>,
    /// The targets, as the spec gives them (the run's and each step's own).
    pub targets: Vec<serde_json::Value>,
    /// Each fault step: its name and kind.
    pub faults: Vec<PlannedFault>,
}

/// One fault step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFault {
    /// The step's name, or its kind and position.
    pub step: String,
    /// The fault kind (`networkDelay`).
    pub kind: String,
}

/// What the veto said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VetoDecision {
    /// Go ahead.
    Allow,
    /// Do not: the reason it gave (or its HTTP status).
    Deny(String),
}

/// Why the veto gave no decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VetoError {
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// It could not be reached.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// A 2xx answer that is not `{"allow": true|false, "reason": ...}`.
    #[error("unreadable answer: {0}")]
    Answer(String),
}

/// Who is asked before a run injects anything (an HTTP endpoint, in `outputs::veto`).
pub trait PreflightVeto: Send + Sync {
    /// The decision on `plan`; bounded in time by the implementation.
    fn ask(&self, plan: &PreflightPlan) -> BoxFuture<'static, Result<VetoDecision, VetoError>>;
}
