//! The preflight veto's place in a run: after the guard, before the steady state is read
//! and anything is injected. A refusal stops the run as an abort (`vetoed: <reason>`),
//! so it ends `aborted` with nothing to recover.

use std::sync::Arc;

use super::machine::Runner;
use super::stop::Stop;
use crate::application::audit::Auditor;
use crate::application::governance::PreflightPlan;
use crate::domain::{Actor, AuditAction, AuditOutcome, NewAudit};

impl Runner {
    /// Names who asked for the run (the veto is told) and where the veto's answer is
    /// audited.
    pub fn triggered_by(mut self, actor: Actor, audit: Option<Arc<Auditor>>) -> Runner {
        self.trigger = actor;
        self.audit = audit;
        self
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
