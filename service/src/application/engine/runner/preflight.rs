//! The preflight veto's place in a run: after the guard (whose refusals are audited here
//! too), before the steady state is read and anything is injected. A refusal stops the run as an abort (`vetoed: <reason>`),
//! so it ends `aborted` with nothing to recover.

use std::sync::Arc;

use super::machine::Runner;
use super::stop::Stop;
use crate::application::audit::Auditor;
use crate::application::ports::PreflightPlan;
use crate::domain::{Actor, AuditAction, AuditOutcome, NewAudit};

impl Runner {
    /// Names who asked for the run (the veto is told) and where the veto's answer is
    /// audited.
    pub fn triggered_by(mut self, actor: Actor, audit: Option<Arc<Auditor>>) -> Runner {
        self.trigger = actor;
        self.audit = audit;
        self
    }

    /// Records that the guard refused the run (it ends `failed`, nothing injected): a
    /// refused attempt of whoever triggered it.
    pub(super) fn audit_guard_refusal(&self, why: &str) {
        if let Some(audit) = &self.audit {
            audit.record(
                NewAudit::ok(
                    self.trigger.clone(),
                    AuditAction::RunStart,
                    &*self.exp.metadata.name,
                )
                .ended(AuditOutcome::Refused, format!("run {}: {why}", self.run)),
            );
        }
    }

    /// Asks the veto, if one is configured; `Err` stops the run before it injects.
    pub(super) async fn preflight(&self) -> Result<(), Stop> {
        let Some(pre) = &self.opts.preflight else {
            return Ok(());
        };
        let plan = PreflightPlan::of(&self.run, &self.exp, self.trigger.clone());
        let refusal = pre.refusal(&plan).await;
        if let Some(audit) = &self.audit {
            let asked = NewAudit::ok(Actor::system("veto"), AuditAction::RunVeto, &*self.run);
            audit.record(match &refusal {
                None => asked.ended(AuditOutcome::Ok, "allowed"),
                Some(why) => asked.ended(AuditOutcome::Refused, why),
            });
        }
        match refusal {
            None => Ok(()),
            Some(why) => Err(Stop::Aborted(format!("vetoed: {why}"))),
        }
    }
}
