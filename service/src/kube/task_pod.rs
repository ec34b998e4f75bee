//! Task steps' pods: created with `restartPolicy: Never` and an `activeDeadlineSeconds`,
//! labelled with the run, read back until the container has terminated, its log read
//! from the `log` subresource, then deleted.

use ::kube::Client;
use ::kube::api::{Api, ListParams, LogParams, PostParams};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::error::KubeError;
use super::pod_kill::kill_pod;
use super::resolve::Resolver;
use crate::application::ports::{Killed, RUN_LABEL, TaskPod, TaskState};

/// Labels every task pod as faultline's.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "faultline");
/// The annotation naming the step that ran the pod.
pub const STEP_ANNOTATION: &str = "faultline.dev/step";

/// Creates, reads and deletes task pods.
#[derive(Clone)]
pub struct TaskPodRunner {
    client: Client,
    protected: Vec<String>,
}

impl TaskPodRunner {
    /// Over `client`; `protected` are the service's `--protect-namespace` namespaces,
    /// where no task pod is created.
    pub fn new(client: Client, protected: Vec<String>) -> TaskPodRunner {
        TaskPodRunner { client, protected }
    }

    /// Creates the pod; the name the API server gave it.
    pub async fn create(&self, task: &TaskPod) -> Result<String, KubeError> {
        let ns = &task.namespace;
        if self.protected.iter().any(|p| p == ns) {
            return Err(KubeError::Guard(format!(
                "a task pod may not run in namespace `{ns}`: it is protected (the service's --protect-namespace)"
            )));
        }
        let pod = pod_object(task).map_err(|source| KubeError::BadObject {
            what: format!("the pod of task {}", task.step),
            source,
        })?;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let created = api
            .create(&PostParams::default(), &pod)
            .await
            .map_err(KubeError::api(format!(
                "create a task pod in namespace {ns}"
            )))?;
        Ok(created.metadata.name.unwrap_or_default())
    }

    /// Where container `container` of pod `ns/name` is.
    pub async fn state(
        &self,
        ns: &str,
        name: &str,
        container: &str,
    ) -> Result<TaskState, KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pod = api
            .get(name)
            .await
            .map_err(KubeError::api(format!("get task pod {ns}/{name}")))?;
        let status = pod.status.unwrap_or_default();
        let terminated = status
            .container_statuses
            .iter()
            .flatten()
            .find(|c| c.name == container)
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.terminated.as_ref());
        if let Some(t) = terminated {
            return Ok(TaskState::Exited(t.exit_code));
        }
        match status.phase.as_deref() {
            Some(phase @ ("Failed" | "Succeeded")) => Ok(TaskState::Ended(format!(
                "the pod is {phase} without an exit code for container `{container}`{}",
                status
                    .reason
                    .map(|r| format!(
                        " ({r}{})",
                        status.message.map(|m| format!(": {m}")).unwrap_or_default()
                    ))
                    .unwrap_or_default()
            ))),
            _ => Ok(TaskState::Running),
        }
    }

    /// The first `limit_bytes` of container `container`'s log.
    pub async fn stdout(
        &self,
        ns: &str,
        name: &str,
        container: &str,
        limit_bytes: usize,
    ) -> Result<String, KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let params = LogParams {
            container: Some(container.to_string()),
            limit_bytes: Some(limit_bytes as i64),
            ..LogParams::default()
        };
        api.logs(name, &params)
            .await
            .map_err(KubeError::api(format!(
                "read the log of task pod {ns}/{name}"
            )))
    }

    /// Deletes pod `ns/name` with no grace period: the task is done or abandoned.
    pub async fn delete(&self, ns: &str, name: &str) -> Result<Killed, KubeError> {
        kill_pod(&self.client, ns, name, Some(0)).await
    }

    /// Deletes every task pod that finished more than `grace` before `now`: what a run
    /// killed mid-task (its service or replica gone) left behind. A live run reads a
    /// finished pod within a second and deletes it, so a pod finished for `grace` has no
    /// run left to do so; one still running is stopped by its `activeDeadlineSeconds`
    /// and swept once finished. Returns `NS/NAME` of each pod deleted; one that fails to
    /// delete is logged and left for the next sweep.
    pub async fn sweep_finished(
        &self,
        resolver: &Resolver,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> Result<Vec<String>, KubeError> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let lp =
            ListParams::default().labels(&format!("{}={},{RUN_LABEL}", MANAGED_BY.0, MANAGED_BY.1));
        let pods = resolver.list_all(&api, lp, "all namespaces").await?;
        let mut out = Vec::new();
        for pod in pods {
            let Some(finished) = finished_at(&pod) else {
                continue;
            };
            if now - finished < grace {
                continue;
            }
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            match self.delete(&ns, &name).await {
                Ok(_) => out.push(format!("{ns}/{name}")),
                Err(e) => {
                    tracing::error!(pod = %format!("{ns}/{name}"), error = %faultline_agent::agent::error_chain(&e), "could not delete a task pod no run owns; retrying at the next sweep")
                }
            }
        }
        Ok(out)
    }
}

/// When a task pod finished: its containers' latest `terminated.finishedAt`, or, for a pod
/// that ended without one (evicted, past its deadline before starting), its creation
/// time. `None` while it has not finished.
fn finished_at(pod: &Pod) -> Option<DateTime<Utc>> {
    let status = pod.status.as_ref()?;
    let terminated = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref())
        .filter_map(|t| t.finished_at.as_ref().and_then(|f| chrono_of(f.0)))
        .max();
    if terminated.is_some() {
        return terminated;
    }
    match status.phase.as_deref() {
        Some("Succeeded" | "Failed") => pod
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| chrono_of(t.0)),
        _ => None,
    }
}

/// The pod of `task`: one container, never restarted, bounded by its deadline.
fn pod_object(task: &TaskPod) -> Result<Pod, serde_json::Error> {
    let mut labels = serde_json::Map::new();
    for (k, v) in &task.labels {
        labels.insert(k.clone(), json!(v));
    }
    // faultline's own labels win over the task's, as Chaos Mesh's do over a task's.
    labels.insert(MANAGED_BY.0.into(), json!(MANAGED_BY.1));
    labels.insert(RUN_LABEL.into(), json!(task.run));
    let c = &task.container;
    let mut container = json!({ "name": c.name, "image": c.image });
    if !c.command.is_empty() {
        container["command"] = json!(c.command);
    }
    if !c.args.is_empty() {
        container["args"] = json!(c.args);
    }
    if !c.env.is_empty() {
        container["env"] = json!(c.env);
    }
    if let Some(d) = &c.working_dir {
        container["workingDir"] = json!(d);
    }
    if let Some(p) = &c.image_pull_policy {
        container["imagePullPolicy"] = json!(p);
    }
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": task.name_prefix,
            "namespace": task.namespace,
            "labels": labels,
            "annotations": { STEP_ANNOTATION: task.step },
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": task.active_deadline.as_secs().max(1),
            "containers": [container],
        },
    }))
}

/// A Kubernetes time as chrono's, which the rest of the service uses.
fn chrono_of(t: k8s_openapi::jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().try_into().ok()?)
}
