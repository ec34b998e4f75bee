//! The preflight veto's port: ask an outside service whether a run may inject.

use futures::future::BoxFuture;

use crate::application::governance::{PreflightPlan, VetoDecision, VetoError};

/// Who is asked before a run injects anything (an HTTP endpoint, in `outputs::veto`).
pub trait PreflightVeto: Send + Sync {
    /// The decision on `plan`; bounded in time by the implementation.
    fn ask(&self, plan: &PreflightPlan) -> BoxFuture<'static, Result<VetoDecision, VetoError>>;
}
