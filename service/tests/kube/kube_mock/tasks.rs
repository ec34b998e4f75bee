//! Task steps in cluster mode against the mock API server: the task's pod is created
//! (`restartPolicy: Never`, labelled with the run), read until its container has
//! terminated, its log read, and deleted; its exit code and stdout pick the branch whose
//! fault then runs. An abort mid-wait still deletes the pod, and a run without a cluster
//! refuses a task before anything is injected.

use std::sync::Arc;
use std::time::Duration;

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::{RunEvent, RunState};
use faultline::kube::Cluster;
use faultline_test_support::fakes::kube::{
    Exchange, PodFx, done, pod_list, pod_not_found, testcontext,
};
use http::Method;
use serde_json::{Value, json};

use super::engine::{Fixture, PODS, cluster, faults, fixture};

/// The name the mock API server gives the task's pod.
const TASK_POD: &str = "faultline-task-run1-x7k2p";

fn runner(f: &Fixture, cluster: Option<Cluster>, yaml: &str) -> Runner {
    let exp = faultline_spec::load_str(yaml, "t.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    f.store.create_run("run1", "tasks", "{}").unwrap();
    let opts = RunOptions {
        cluster: cluster.map(|c| Arc::new(c) as _),
        ..RunOptions::default()
    };
    Runner::new(
        f.store.clone(),
        Injector::InProcess(f.agent.clone()),
        opts,
        "run1".into(),
        exp,
    )
}

/// The task's pod as the API server shows it: `Running`, or terminated with `exit`.
fn task_pod(container: &str, exit: Option<i32>) -> Value {
    let (phase, state) = match exit {
        None => (
            "Running",
            json!({ "running": { "startedAt": "2026-12-01T09:00:01Z" } }),
        ),
        Some(code) => (
            if code == 0 { "Succeeded" } else { "Failed" },
            json!({ "terminated": {
                "exitCode": code,
                "reason": if code == 0 { "Completed" } else { "Error" },
                "startedAt": "2026-12-01T09:00:01Z",
                "finishedAt": "2026-12-01T09:00:02Z",
                "containerID": "containerd://0123abcd",
            } }),
        ),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": TASK_POD,
            "namespace": "shop",
            "uid": "6f0c5c4e-task",
            "resourceVersion": "4711",
            "labels": { "faultline.dev/run": "run1", "app.kubernetes.io/managed-by": "faultline" },
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": 120,
            "containers": [{ "name": container, "image": "busybox:1.36" }],
            "nodeName": "node-a",
        },
        "status": {
            "phase": phase,
            "containerStatuses": [{
                "name": container,
                "image": "busybox:1.36",
                "imageID": "docker.io/library/busybox@sha256:aa",
                "ready": false,
                "restartCount": 0,
                "state": state,
            }],
        },
    })
}

fn pod(app: &str) -> PodFx {
    PodFx::new("shop", &format!("{app}-0"), "node-a").label("app", app)
}

fn task_events(f: &Fixture) -> Vec<RunEvent> {
    f.store
        .events("run1")
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| matches!(e, RunEvent::TaskFinished { .. }))
        .collect()
}

/// A Chaos Mesh Workflow (our own manifest): a task whose stdout picks which pods are
/// killed, `web` for branch-a, `api` for branch-b, and a report task on failure.
const WORKFLOW: &str = r#"apiVersion: chaos-mesh.org/v1alpha1
kind: Workflow
metadata: { name: pick, namespace: shop }
spec:
  entry: decide
  templates:
    - name: decide
      templateType: Task
      task:
        container: { name: probe, image: "busybox:1.36", command: [sh, -c, "echo $ANSWER"] }
      conditionalBranches:
        - { target: kill-web, expression: 'exitCode == 0 && stdout == "branch-a"' }
        - { target: kill-api, expression: 'exitCode == 0 && stdout == "branch-b"' }
    - name: kill-web
      templateType: PodChaos
      podChaos: { action: pod-kill, mode: one, selector: { labelSelectors: { app: web } } }
    - name: kill-api
      templateType: PodChaos
      podChaos: { action: pod-kill, mode: one, selector: { labelSelectors: { app: api } } }
"#;

#[tokio::test]
async fn a_workflow_task_stdout_picks_the_branch_whose_fault_runs() {
    for (stdout, killed, spared) in [("branch-a\n", "web", "api"), ("  branch-b\n", "api", "web")] {
        let f = fixture().await;
        let (client, server) = testcontext();
        let task_path = format!("{PODS}/{TASK_POD}");
        let calls = server.run(vec![
            // The guard lists both branches' pods before anything is created.
            Exchange::get(PODS, pod_list(&[pod("web")], "")).query("labelSelector", "app=web"),
            Exchange::get(PODS, pod_list(&[pod("api")], "")).query("labelSelector", "app=api"),
            Exchange::new(Method::POST, PODS, task_pod("probe", None)).status(201),
            Exchange::get(&task_path, task_pod("probe", None)),
            Exchange::get(&task_path, task_pod("probe", Some(0))),
            Exchange::text(format!("{task_path}/log"), stdout).query("container", "probe"),
            Exchange::new(Method::DELETE, &task_path, task_pod("probe", Some(0))),
            // The branch that stdout picked: its pods selected, one killed.
            Exchange::get(PODS, pod_list(&[pod(killed)], ""))
                .query("labelSelector", &format!("app={killed}")),
            Exchange::new(
                Method::DELETE,
                format!("{PODS}/{killed}-0"),
                pod(killed).json(),
            ),
            // Read back: gone.
            Exchange::get(
                format!("{PODS}/{killed}-0"),
                pod_not_found(&format!("{killed}-0")),
            )
            .status(404),
        ]);
        let r = runner(&f, Some(cluster(client, 7150, &[])), WORKFLOW);
        let state = tokio::time::timeout(Duration::from_secs(20), r.execute())
            .await
            .expect("the run did not end");
        let seen = done(calls).await;
        let (applied, _, reason) = faults(&f);
        assert_eq!(state, RunState::Passed, "{reason}");
        // The pod: never restarted, bounded, labelled with the run, in the Workflow's
        // namespace; deleted at once after its log was read.
        let created = &seen[2].body;
        assert_eq!(created["spec"]["restartPolicy"], json!("Never"));
        assert_eq!(created["spec"]["activeDeadlineSeconds"], json!(300));
        assert_eq!(
            created["metadata"]["labels"]["faultline.dev/run"],
            json!("run1")
        );
        assert_eq!(
            created["metadata"]["generateName"],
            json!("faultline-task-run1-")
        );
        assert_eq!(
            created["spec"]["containers"][0]["command"],
            json!(["sh", "-c", "echo $ANSWER"])
        );
        assert!(seen[5].uri.contains("limitBytes="), "{}", seen[5].uri);
        assert_eq!(seen[6].method, Method::DELETE);
        assert_eq!(seen[6].body["gracePeriodSeconds"], json!(0));
        // The picked branch's fault ran, the other's did not.
        assert_eq!(
            applied.iter().map(|a| a.2.as_str()).collect::<Vec<_>>(),
            vec![format!("pod shop/{killed}-0")],
            "{spared} must be spared"
        );
        let want = if killed == "web" { 1 } else { 2 };
        let events = task_events(&f);
        let [
            RunEvent::TaskFinished {
                step,
                pod,
                exit_code,
                stdout: shown,
                branches,
            },
        ] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(step, "decide");
        assert_eq!(pod, &format!("shop/{TASK_POD}"));
        assert_eq!(*exit_code, 0);
        assert_eq!(shown, stdout.trim());
        assert_eq!(branches.len(), 1);
        assert!(
            branches[0].starts_with(&format!("branch#{want}: ")),
            "{branches:?}"
        );
    }
}

/// Native steps: the exit code picks between two branches; none holding ends the step.
fn native(exit_branches: &str) -> String {
    format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: t, namespace: shop }}\nspec:\n  steps:\n    - name: check\n      task:\n        timeout: 2m\n        container: {{ name: check, image: busybox }}\n        branches:\n{exit_branches}"
    )
}

#[tokio::test]
async fn a_native_task_exit_code_picks_the_branch_and_none_matching_goes_on() {
    let branches = "          - when: exitCode == 3\n            then:\n              - podKill: {}\n                target: { labelSelectors: { app: web }, mode: one }\n          - when: exitCode == 0\n            then: [{ suspend: 1h }]\n";
    for (exit, kills) in [(3, true), (7, false)] {
        let f = fixture().await;
        let (client, server) = testcontext();
        let task_path = format!("{PODS}/{TASK_POD}");
        let mut calls = vec![
            Exchange::get(PODS, pod_list(&[pod("web")], "")),
            Exchange::new(Method::POST, PODS, task_pod("check", None)).status(201),
            Exchange::get(&task_path, task_pod("check", Some(exit))),
            Exchange::text(format!("{task_path}/log"), ""),
            Exchange::new(Method::DELETE, &task_path, task_pod("check", Some(exit))),
        ];
        if kills {
            calls.push(Exchange::get(PODS, pod_list(&[pod("web")], "")));
            calls.push(Exchange::new(
                Method::DELETE,
                format!("{PODS}/web-0"),
                pod("web").json(),
            ));
            calls.push(Exchange::get(format!("{PODS}/web-0"), pod_not_found("web-0")).status(404));
        }
        let calls = server.run(calls);
        let r = runner(&f, Some(cluster(client, 7150, &[])), &native(branches));
        let state = tokio::time::timeout(Duration::from_secs(20), r.execute())
            .await
            .expect("the run did not end");
        let seen = done(calls).await;
        assert_eq!(seen[1].body["spec"]["activeDeadlineSeconds"], json!(120));
        let (applied, _, reason) = faults(&f);
        assert_eq!(state, RunState::Passed, "{reason}");
        assert_eq!(
            applied.len(),
            usize::from(kills),
            "exit {exit}: {applied:?}"
        );
        let events = task_events(&f);
        let [RunEvent::TaskFinished { branches, .. }] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(branches.is_empty(), !kills, "exit {exit}: {branches:?}");
    }
}

#[tokio::test]
async fn an_abort_while_the_task_runs_deletes_its_pod() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let task_path = format!("{PODS}/{TASK_POD}");
    let calls = server.run(vec![
        Exchange::new(Method::POST, PODS, task_pod("check", None)).status(201),
        Exchange::get(&task_path, task_pod("check", None)),
        Exchange::new(Method::DELETE, &task_path, task_pod("check", None)),
    ]);
    let r = runner(
        &f,
        Some(cluster(client, 7150, &[])),
        &native("          - { when: exitCode == 0, then: [{ suspend: 1s }] }\n"),
    );
    let abort = r.abort_handle();
    let r = r.on_event(move |e| {
        if matches!(e, RunEvent::Note { message } if message.contains("task pod shop/")) {
            abort.abort("operator pressed stop");
        }
    });
    let state = tokio::time::timeout(Duration::from_secs(10), r.execute())
        .await
        .expect("the abort did not end the run");
    assert_eq!(state, RunState::Aborted);
    let seen = done(calls).await;
    assert_eq!(
        seen[2].method,
        Method::DELETE,
        "the task pod is deleted on abort"
    );
    assert!(task_events(&f).is_empty(), "no branch was picked");
}

#[tokio::test]
async fn a_one_machine_run_refuses_a_task_before_injecting_anything() {
    let f = fixture().await;
    let r = runner(&f, None, WORKFLOW);
    assert_eq!(r.execute().await, RunState::Error);
    let (applied, _, reason) = faults(&f);
    assert!(applied.is_empty());
    assert_eq!(
        reason,
        "step decide: a Task runs a container in the cluster, and this run has none (`faultline run` works on this machine only); nothing injected. Run it with `faultline serve --kubernetes` (cluster mode), or replace the task with the steps of the branch you want"
    );
}

/// A task pod named `name`, finished (exit 0) at `finished` or still `Running` (`None`).
fn swept_pod(name: &str, finished: Option<&str>) -> Value {
    let mut pod = task_pod("check", finished.map(|_| 0));
    pod["metadata"]["name"] = json!(name);
    if let Some(at) = finished {
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = json!(at);
    }
    pod
}

#[tokio::test]
async fn the_sweep_deletes_task_pods_finished_long_ago_and_keeps_the_rest() {
    // What a service killed mid-task leaves: its pod, finished, with no run to delete it.
    let (client, server) = testcontext();
    let old = swept_pod("faultline-task-old", Some("2026-12-01T09:00:00Z"));
    let fresh = swept_pod("faultline-task-fresh", Some("2026-12-01T09:59:30Z"));
    let running = swept_pod("faultline-task-running", None);
    let list = json!({
        "kind": "PodList", "apiVersion": "v1", "metadata": { "resourceVersion": "9" },
        "items": [old, fresh, running],
    });
    let calls = server.run(vec![
        Exchange::get("/api/v1/pods", list).query(
            "labelSelector",
            "app.kubernetes.io/managed-by=faultline,faultline.dev/run",
        ),
        Exchange::new(
            Method::DELETE,
            format!("{PODS}/faultline-task-old"),
            swept_pod("faultline-task-old", Some("2026-12-01T09:00:00Z")),
        ),
    ]);
    let c = cluster(client, 7150, &[]);
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let deleted = c
        .tasks()
        .sweep_finished(c.resolver(), now, chrono::Duration::minutes(2))
        .await
        .unwrap();
    done(calls).await;
    assert_eq!(deleted, vec!["shop/faultline-task-old".to_string()]);
}
