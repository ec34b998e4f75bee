//! The preflight veto: before a run injects anything, an outside service (an incident
//! tool, a deploy freeze bot) is sent the run's plan and may refuse it. A refusal, or no
//! answer in time when failing closed (the default), ends the run `aborted` with
//! `vetoed: <reason>` and nothing injected.

use std::sync::Arc;

use faultline_spec::Experiment;

use crate::application::ports::{PlannedFault, PreflightPlan, PreflightVeto, VetoDecision};
use crate::domain::Actor;

impl PreflightPlan {
    /// The plan of run `run` of `exp` that `trigger` asked for.
    pub fn of(run: &str, exp: &Experiment, trigger: Actor) -> PreflightPlan {
        let steps = exp.spec.fault_steps();
        let targets = exp
            .spec
            .target
            .iter()
            .chain(steps.iter().filter_map(|s| s.target.as_ref()))
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect();
        PreflightPlan {
            run: run.to_string(),
            experiment: exp.metadata.name.clone(),
            trigger,
            namespaces: namespaces_of(exp),
            targets,
            faults: steps
                .iter()
                .enumerate()
                .map(|(i, s)| PlannedFault {
                    step: s
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{}#{}", s.fault.name(), i + 1)),
                    kind: s.fault.name().to_string(),
                })
                .collect(),
        }
    }
}

/// The namespaces a run of `exp` touches: its pod selectors' (or, for selectors naming
/// none, the experiment's own), sorted, without repeats.
pub fn namespaces_of(exp: &Experiment) -> Vec<String> {
    let own = exp.metadata.namespace.clone();
    let mut out: Vec<String> = Vec::new();
    let steps = exp.spec.fault_steps();
    for t in exp
        .spec
        .target
        .iter()
        .chain(steps.iter().filter_map(|s| s.target.as_ref()))
    {
        if let Some(sel) = t.kubernetes() {
            if sel.namespaces.is_empty() {
                out.extend(own.clone());
            } else {
                out.extend(sel.namespaces.iter().cloned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The veto and what to do when it gives no decision.
#[derive(Clone)]
pub struct Preflight {
    /// Who is asked.
    pub veto: Arc<dyn PreflightVeto>,
    /// Let the run go on when the veto gives no decision (default: refuse it).
    pub fail_open: bool,
}

impl Preflight {
    /// `None` to go ahead, else why the run is vetoed.
    pub async fn refusal(&self, plan: &PreflightPlan) -> Option<String> {
        match self.veto.ask(plan).await {
            Ok(VetoDecision::Allow) => None,
            Ok(VetoDecision::Deny(reason)) => Some(reason),
            Err(e) if self.fail_open => {
                tracing::warn!(run = %plan.run, error = %e, "the preflight veto gave no decision; going ahead (failOpen)");
                None
            }
            Err(e) => Some(format!("the veto gave no decision ({e}); failing closed")),
        }
    }
}
