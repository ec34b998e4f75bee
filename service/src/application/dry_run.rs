//! Dry runs over the API: the engine's plan (what would be injected, when, on what), the
//! guard's verdict, and each target resolved now (local ones on this machine, pod targets
//! through the Kubernetes API in cluster mode) — with nothing injected and no run created.

use faultline_spec::{Experiment, Step, Target};
use serde::Serialize;

use crate::application::engine::plan::{PlannedFault, guard_refusal, plan as engine_plan};
use crate::application::engine::plan_checks::{PlannedCheck, planned_checks};
use crate::application::ports::cluster::{ClusterError, PodCluster};
use crate::domain::selection::max_chosen;

/// The answer to a dry run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// Experiment name.
    pub experiment: String,
    /// Always true: nothing was injected.
    pub dry_run: bool,
    /// Why the guard would refuse the run before injecting anything, if it would.
    pub refusal: Option<String>,
    /// Every fault the run would apply, in the engine's order, with start offsets.
    pub faults: Vec<PlannedFault>,
    /// Every distinct target, and what it resolves to now.
    pub targets: Vec<TargetPlan>,
    /// The steady-state checks that would be judged.
    pub checks: Vec<String>,
    /// The `check:` steps (status checks) the run would carry out, and what a failure of
    /// each does to the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_checks: Vec<PlannedCheck>,
}

/// One target of the plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetPlan {
    /// The target as written.
    pub target: serde_json::Value,
    /// What it resolves to now (processes, cgroups, netns), when resolved here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<serde_json::Value>,
    /// Why it was not resolved here, or why resolving failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The target of a node fault (nodeCordon, nodeTaint, nodeDrain): its `nodes` and
    /// `nodeSelectors` choose nodes, not the pods on them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub of_nodes: bool,
}

/// Builds the dry-run answer. With `resolve_locally` (the in-process agent), local
/// targets are resolved on this machine (reads `/proc`: call off the async workers); a
/// remote agent resolves its own targets when it applies a fault.
pub fn dry_run(exp: &Experiment, resolve_locally: bool) -> DryRun {
    let mut targets = Vec::new();
    if let Some(t) = &exp.spec.target {
        targets.push(t);
    }
    collect_targets(&exp.spec.steps, &mut targets);
    let mut distinct: Vec<&Target> = Vec::new();
    for t in targets {
        if !distinct.contains(&t) {
            distinct.push(t);
        }
    }
    let node_plans = crate::application::engine::plan::node_targets(exp)
        .into_iter()
        .map(|sel| TargetPlan {
            target: serde_json::to_value(sel).unwrap_or_default(),
            resolved: None,
            note: Some(
                "nodes of a node fault; resolved when the run starts (in cluster mode: now, by the dry run)"
                    .to_string(),
            ),
            of_nodes: true,
        });
    DryRun {
        experiment: exp.metadata.name.clone(),
        dry_run: true,
        refusal: guard_refusal(exp),
        faults: engine_plan(exp),
        targets: distinct
            .into_iter()
            .map(|t| resolve(t, resolve_locally))
            .chain(node_plans)
            .collect(),
        checks: exp
            .spec
            .steady_state
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        status_checks: planned_checks(exp),
    }
}

fn resolve(target: &Target, locally: bool) -> TargetPlan {
    let (resolved, note) = match target {
        // Replaced by `resolve_in_cluster` when the service runs in cluster mode.
        Target::Kubernetes(_) => (
            None,
            Some("Kubernetes targets are resolved when the run starts (in cluster mode: now, by the dry run)".to_string()),
        ),
        Target::Local(_) if !locally => (
            None,
            Some("resolved by the node agent when the fault is applied".to_string()),
        ),
        Target::Local(t) => match faultline_agent::resolve::resolve(t) {
            Ok(r) => (serde_json::to_value(&r).ok(), None),
            Err(e) => (
                None,
                Some(format!(
                    "does not resolve now: {}",
                    faultline_agent::agent::error_chain(&e)
                )),
            ),
        },
    };
    TargetPlan {
        target: serde_json::to_value(target).unwrap_or_default(),
        resolved,
        note,
        of_nodes: false,
    }
}

/// In cluster mode: each Kubernetes target of `plan` listed now, with the guard applied
/// as the run would apply it before injecting (protected namespaces, maxTargets,
/// maxPercent). Nothing is chosen or injected.
pub async fn resolve_in_cluster(plan: &mut DryRun, exp: &Experiment, cluster: &dyn PodCluster) {
    for tp in plan.targets.iter_mut() {
        let Ok(Target::Kubernetes(sel)) = serde_json::from_value::<Target>(tp.target.clone())
        else {
            continue;
        };
        if tp.of_nodes {
            resolve_nodes_in_cluster(tp, &mut plan.refusal, &sel, exp, cluster).await;
            continue;
        }
        match cluster
            .check(&sel, exp.metadata.namespace.as_deref(), &exp.spec.guard)
            .await
        {
            Ok(n) => {
                tp.resolved = Some(serde_json::json!({
                    "matchingPods": n,
                    "mode": sel.mode.to_string(),
                    "atMost": max_chosen(sel.mode, n),
                }));
                tp.note = None;
            }
            Err(e @ ClusterError::Guard(_)) => {
                tp.note = Some(e.to_string());
                plan.refusal
                    .get_or_insert_with(|| format!("{e}; nothing would be injected"));
            }
            Err(e) => {
                tp.note = Some(format!(
                    "does not resolve now: {}",
                    faultline_agent::agent::error_chain(&e)
                ))
            }
        }
    }
}

/// A node fault's target listed now with the guard over nodes, as the run would before
/// injecting.
async fn resolve_nodes_in_cluster(
    tp: &mut TargetPlan,
    refusal: &mut Option<String>,
    sel: &faultline_spec::PodSelector,
    exp: &Experiment,
    cluster: &dyn PodCluster,
) {
    let Some(nodes) = cluster.nodes() else {
        return;
    };
    match nodes
        .check(sel, &exp.spec.guard)
        .await
        .map_err(ClusterError::from)
    {
        Ok(n) => {
            tp.resolved = Some(serde_json::json!({
                "matchingNodes": n,
                "mode": sel.mode.to_string(),
                "atMost": max_chosen(sel.mode, n),
            }));
            tp.note = None;
        }
        Err(e @ ClusterError::Guard(_)) => {
            tp.note = Some(e.to_string());
            refusal.get_or_insert_with(|| format!("{e}; nothing would be injected"));
        }
        Err(e) => {
            tp.note = Some(format!(
                "does not resolve now: {}",
                faultline_agent::agent::error_chain(&e)
            ));
        }
    }
}

fn collect_targets<'e>(steps: &'e [Step], out: &mut Vec<&'e Target>) {
    for s in steps {
        match s {
            // Node kinds' targets are nodes: planned apart (`node_targets`).
            Step::Fault(f)
                if matches!(
                    f.fault.decl().targets,
                    faultline_spec::fault::Targets::Nodes | faultline_spec::fault::Targets::Zone
                ) => {}
            Step::Fault(f) => out.extend(f.target.as_ref()),
            Step::Parallel(g) | Step::Serial(g) => collect_targets(&g.steps, out),
            Step::Suspend(_) | Step::Check(_) => {}
            Step::Task(t) => t
                .task
                .branches
                .iter()
                .for_each(|b| collect_targets(&b.then, out)),
            Step::Repeat(r) => collect_targets(std::slice::from_ref(&*r.step), out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_faults_are_planned_on_nodes_and_their_targets_are_not_read_as_pods() {
        let exp = faultline_spec::load_file(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/native/node-drain-and-zone.yaml"
        )))
        .unwrap()
        .remove(0);
        let plan = dry_run(&exp, false);
        let rows: Vec<(&str, &str)> = plan
            .faults
            .iter()
            .map(|f| (f.kind.as_str(), f.target.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("nodeDrain", "nodes pool=batch (mode one)"),
                ("nodeTaint", "nodes worker-3 (mode all)"),
                (
                    "zoneOutage",
                    "nodes topology.kubernetes.io/zone=eu-west-1a (cut off from the other zones' nodes)"
                ),
            ]
        );
        assert_eq!(plan.targets.len(), 2, "{:?}", plan.targets);
        assert!(plan.targets.iter().all(|t| t.of_nodes));
        assert_eq!(
            plan.targets[0].target,
            serde_json::json!({ "nodeSelectors": { "pool": "batch" }, "mode": "one" })
        );
        assert_eq!(plan.refusal, None);
    }
}
