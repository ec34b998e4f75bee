//! The guard, before anything is injected, in one place: the experiment's own limits
//! (protected namespaces, `maxTargets` over local targets: `plan::guard_refusal`, which
//! dry runs share), each Kubernetes target listed and checked against the protected
//! namespaces and `maxTargets`/`maxPercent`, then the error budget. `Ok(Some(reason))`
//! refuses the run, which ends `failed` with nothing injected.

use super::machine::Runner;
use super::stop::{RunError, Stop};
use crate::application::engine::plan::{guard_refusal, kubernetes_targets, node_targets};
use crate::application::ports::ClusterError;
use crate::domain::RunEvent;

impl Runner {
    /// Every guard, in order; the first refusal wins.
    pub(super) async fn guard(&self) -> Result<Option<String>, Stop> {
        if let Some(refusal) = self.task_guard()? {
            return Ok(Some(refusal));
        }
        if let Some(refusal) = guard_refusal(&self.exp) {
            return Ok(Some(format!("{refusal}; nothing injected")));
        }
        if let Some(refusal) = self.cluster_guard().await? {
            return Ok(Some(refusal));
        }
        self.error_budget_refusal().await
    }

    /// The guard in cluster mode: each Kubernetes target is listed and checked against the
    /// protected namespaces and `maxTargets`/`maxPercent`.
    async fn cluster_guard(&self) -> Result<Option<String>, Stop> {
        if let Some(refusal) = self.node_guard().await? {
            return Ok(Some(refusal));
        }
        let targets = kubernetes_targets(&self.exp);
        if targets.is_empty() {
            return Ok(None);
        }
        let Some(cluster) = self.opts.cluster.as_deref() else {
            return Err(Stop::error(RunError::ClusterModeNeeded));
        };
        for sel in targets {
            match cluster
                .check(sel, self.namespace(), &self.exp.spec.guard)
                .await
            {
                Ok(_) => {}
                Err(e @ ClusterError::Guard(_)) => {
                    return Ok(Some(format!("{e}; nothing injected")));
                }
                Err(e) => {
                    return Err(Stop::error(RunError::ClusterCheck(e)));
                }
            }
        }
        Ok(None)
    }

    /// The guard over the node steps' nodes: control-plane nodes, `maxTargets` and
    /// `maxPercent` (zoneOutage's zone is guarded when it is resolved).
    async fn node_guard(&self) -> Result<Option<String>, Stop> {
        let targets = node_targets(&self.exp);
        if targets.is_empty() {
            return Ok(None);
        }
        let Some(nodes) = self.opts.cluster.as_deref().and_then(|c| c.nodes()) else {
            return Err(Stop::error(RunError::ClusterModeNeeded));
        };
        for sel in targets {
            match nodes
                .check(sel, &self.exp.spec.guard)
                .await
                .map_err(ClusterError::from)
            {
                Ok(_) => {}
                Err(e @ ClusterError::Guard(_)) => {
                    return Ok(Some(format!("{e}; nothing injected")));
                }
                Err(e) => return Err(Stop::error(RunError::ClusterCheck(e))),
            }
        }
        Ok(None)
    }

    /// `guard.errorBudget`: the service may only be hurt while it has budget to spare.
    async fn error_budget_refusal(&self) -> Result<Option<String>, Stop> {
        let Some(budget) = &self.exp.spec.guard.error_budget else {
            return Ok(None);
        };
        let prom = self
            .opts
            .prometheus
            .as_ref()
            .ok_or_else(|| Stop::error(RunError::ErrorBudgetUnmeasurable))?;
        let measured = prom.instant(&budget.prometheus).await;
        let (value, error) = match &measured {
            Ok(v) => (Some(*v), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ok = value.is_some_and(|v| budget.expect.holds(v));
        self.record(RunEvent::CheckEvaluated {
            check: "guard.errorBudget".into(),
            phase: "before".into(),
            value,
            expect: budget.expect.to_string(),
            ok,
            error: error.clone(),
        })?;
        Ok((!ok).then(|| match (value, error) {
            (Some(v), _) => format!(
                "guard: error budget `{}` = {v} does not meet `{}`; nothing injected",
                budget.prometheus, budget.expect
            ),
            (None, e) => format!(
                "guard: error budget `{}` could not be measured ({}); nothing injected",
                budget.prometheus,
                e.unwrap_or_default()
            ),
        }))
    }
}
