//! Dry runs: what a run of an experiment would inject, resolved on this machine where
//! that is possible, with nothing injected and no run created.

use faultline_agent::spec::{Experiment, FaultStep, Step, Target};
use serde::Serialize;

/// The answer to a dry run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Experiment name.
    pub experiment: String,
    /// Always true: nothing was injected.
    pub dry_run: bool,
    /// Every fault the run would apply, in step order.
    pub faults: Vec<PlannedFault>,
    /// The steady-state checks that would be judged.
    pub checks: Vec<String>,
    /// Guard limits this plan breaks; a real run would still be refused or fail on them.
    pub warnings: Vec<String>,
}

/// One fault of the plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFault {
    /// The step's label (its name, or kind and position).
    pub step: String,
    /// Fault kind.
    pub kind: String,
    /// The step as written (kind parameters, duration, target).
    pub fault: serde_json::Value,
    /// The target it would hit.
    pub target: Option<serde_json::Value>,
    /// What the target resolves to now (processes, cgroups, netns), when resolved here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<serde_json::Value>,
    /// Why it was not resolved, or why resolving failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Builds the plan. With `resolve_locally` (the in-process agent), local targets are
/// resolved on this machine; a remote agent resolves its own targets at apply time.
pub fn plan(exp: &Experiment, resolve_locally: bool) -> Plan {
    let mut faults = Vec::new();
    collect(&exp.spec.steps, "", &mut faults);
    let mut warnings = Vec::new();
    let planned = faults
        .into_iter()
        .map(|(label, step)| {
            let target = step.target.as_ref().or(exp.spec.target.as_ref());
            let (resolved, note) = match target {
                None => (None, Some("no target: the run would end in error".into())),
                Some(Target::Kubernetes(_)) => (
                    None,
                    Some("Kubernetes targets are resolved when the run starts".into()),
                ),
                Some(Target::Local(_)) if !resolve_locally => (
                    None,
                    Some("resolved by the node agent when the fault is applied".into()),
                ),
                Some(Target::Local(t)) => match faultline_agent::resolve::resolve(t) {
                    Ok(r) => {
                        if let Some(max) = exp.spec.guard.max_targets
                            && r.procs.len() > max as usize
                        {
                            warnings.push(format!(
                                "step {label}: {} processes exceed guard.maxTargets {max}",
                                r.procs.len()
                            ));
                        }
                        (serde_json::to_value(&r).ok(), None)
                    }
                    Err(e) => (
                        None,
                        Some(format!(
                            "target does not resolve now: {}",
                            faultline_agent::agent::error_chain(&e)
                        )),
                    ),
                },
            };
            PlannedFault {
                kind: step.fault.name().to_string(),
                fault: serde_json::to_value(step).unwrap_or_default(),
                target: target.and_then(|t| serde_json::to_value(t).ok()),
                step: label,
                resolved,
                note,
            }
        })
        .collect();
    Plan {
        experiment: exp.metadata.name.clone(),
        dry_run: true,
        faults: planned,
        checks: exp
            .spec
            .steady_state
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        warnings,
    }
}

/// Fault steps with labels in the runner's style (`name`, or `kind#position`, nested
/// groups joined with dots).
fn collect<'e>(steps: &'e [Step], prefix: &str, out: &mut Vec<(String, &'e FaultStep)>) {
    for (i, step) in steps.iter().enumerate() {
        let label = match step {
            Step::Fault(f) => f
                .name
                .clone()
                .unwrap_or_else(|| format!("{}#{}", f.fault.name(), i + 1)),
            Step::Parallel(_) => format!("parallel#{}", i + 1),
            Step::Serial(_) => format!("serial#{}", i + 1),
            Step::Suspend(_) => continue,
        };
        let full = if prefix.is_empty() {
            label
        } else {
            format!("{prefix}.{label}")
        };
        match step {
            Step::Fault(f) => out.push((full, f)),
            Step::Parallel(c) | Step::Serial(c) => collect(c, &full, out),
            Step::Suspend(_) => {}
        }
    }
}
