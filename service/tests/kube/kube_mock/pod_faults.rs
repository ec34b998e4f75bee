//! podFailure (patch + restore, after a restart, the lapsed-lease sweep) and agent
//! discovery.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use faultline::application::ports::Restored;
use faultline::kube::agents::{AgentDirectory, AgentSettings};
use faultline::kube::pod_failure::{ORIGINAL_IMAGES_ANNOTATION, POD_FAILURE_LABEL};
use faultline::kube::{PodFailureInjector, Resolver};
use http::Method;
use serde_json::{Value, json};

use faultline_test_support::fakes::kube::{
    Exchange, PodFx, done, pod_list, pod_not_found, testcontext,
};

const POD: &str = "/api/v1/namespaces/shop/pods/web-0";
const PAUSE: &str = "registry.k8s.io/pause:3.10";

fn two_containers() -> PodFx {
    PodFx::new("shop", "web-0", "node-a").container("sidecar", "envoyproxy/envoy:v1.32.1")
}

/// The pod as it is after the swap: pause images, the annotation and the label.
fn failed_pod(annotation: &Value) -> Value {
    let mut p = two_containers().json();
    for c in p["spec"]["containers"].as_array_mut().unwrap() {
        c["image"] = json!(PAUSE);
    }
    p["metadata"]["annotations"] =
        json!({ ORIGINAL_IMAGES_ANNOTATION: annotation.as_str().unwrap() });
    p["metadata"]["labels"][POD_FAILURE_LABEL] = json!("run1-f1");
    p
}

fn images_of(patch: &Value) -> Vec<(String, String)> {
    patch["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["image"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pod_failure_swaps_to_pause_keeps_the_originals_and_restores_them() {
    let (client, server) = testcontext();
    let expires = Utc::now() + Duration::seconds(30);
    let fx = two_containers();
    // The patch answer is the patched pod; the restore reads it back from a GET.
    let placeholder = fx.json();
    let calls = server.run(vec![
        Exchange::get(POD, fx.json()),
        Exchange::new(Method::PATCH, POD, placeholder),
    ]);
    let inj = PodFailureInjector::new(client, PAUSE);
    let record = inj
        .fail("shop", "web-0", &[], "run1-f1", expires)
        .await
        .unwrap();
    let seen = done(calls).await;
    assert_eq!(
        seen[1].content_type,
        "application/strategic-merge-patch+json"
    );
    let patch = &seen[1].body;
    assert_eq!(
        images_of(patch),
        vec![
            ("app".into(), PAUSE.into()),
            ("sidecar".into(), PAUSE.into())
        ]
    );
    assert_eq!(
        patch["metadata"]["labels"][POD_FAILURE_LABEL],
        json!("run1-f1")
    );
    let annotation = patch["metadata"]["annotations"][ORIGINAL_IMAGES_ANNOTATION].clone();
    let stored: Value = serde_json::from_str(annotation.as_str().unwrap()).unwrap();
    assert_eq!(
        stored["containers"],
        json!({ "app": "ghcr.io/example/web:1.4.2", "sidecar": "envoyproxy/envoy:v1.32.1" })
    );
    assert_eq!(stored["fault"], json!("run1-f1"));
    assert_eq!(record.containers.len(), 2);

    // Recovery: a fresh injector on a fresh client — nothing but the pod's annotation
    // says what the images were, as after a service restart.
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(POD, failed_pod(&annotation)),
        Exchange::new(Method::PATCH, POD, two_containers().json()),
    ]);
    let fresh = PodFailureInjector::new(client, PAUSE);
    assert_eq!(
        fresh.restore("shop", "web-0").await.unwrap(),
        Restored::Restored
    );
    let seen = done(calls).await;
    let patch = &seen[1].body;
    assert_eq!(
        seen[1].content_type,
        "application/strategic-merge-patch+json"
    );
    assert_eq!(
        images_of(patch),
        vec![
            ("app".into(), "ghcr.io/example/web:1.4.2".into()),
            ("sidecar".into(), "envoyproxy/envoy:v1.32.1".into())
        ]
    );
    assert_eq!(
        patch["metadata"]["annotations"][ORIGINAL_IMAGES_ANNOTATION],
        Value::Null
    );
    assert_eq!(patch["metadata"]["labels"][POD_FAILURE_LABEL], Value::Null);
}

#[tokio::test]
async fn failing_a_failed_pod_again_keeps_the_first_originals() {
    let (client, server) = testcontext();
    let first = json!({
        "fault": "run0-f1",
        "containers": { "app": "ghcr.io/example/web:1.4.2" },
        "expires": "2026-12-01T09:00:00Z",
    })
    .to_string();
    let calls = server.run(vec![
        Exchange::get(POD, failed_pod(&json!(first))),
        Exchange::new(Method::PATCH, POD, two_containers().json()),
    ]);
    let inj = PodFailureInjector::new(client, PAUSE);
    let rec = inj
        .fail(
            "shop",
            "web-0",
            &["app".into(), "sidecar".into()],
            "run1-f1",
            Utc::now(),
        )
        .await
        .unwrap();
    done(calls).await;
    // `app` shows the pause image now; its original stays the one recorded first.
    assert_eq!(rec.containers["app"], "ghcr.io/example/web:1.4.2");
    assert_eq!(
        rec.containers["sidecar"], PAUSE,
        "sidecar was already paused in the fixture"
    );
}

#[tokio::test]
async fn pod_failure_names_a_missing_container_and_patches_nothing() {
    let (client, server) = testcontext();
    let calls = server.run(vec![Exchange::get(POD, two_containers().json())]);
    let inj = PodFailureInjector::new(client, PAUSE);
    let err = inj
        .fail("shop", "web-0", &["db".into()], "run1-f1", Utc::now())
        .await
        .unwrap_err();
    done(calls).await;
    assert_eq!(
        err.to_string(),
        "pod shop/web-0: podFailure.containerNames: no container `db` (the pod has app, sidecar)"
    );
}

#[tokio::test]
async fn restoring_a_gone_or_clean_pod_is_success() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(POD, pod_not_found("web-0")).status(404),
        Exchange::get(POD, two_containers().json()),
    ]);
    let inj = PodFailureInjector::new(client, PAUSE);
    assert_eq!(
        inj.restore("shop", "web-0").await.unwrap(),
        Restored::PodGone
    );
    assert_eq!(
        inj.restore("shop", "web-0").await.unwrap(),
        Restored::NothingToRestore
    );
    done(calls).await;
}

#[tokio::test]
async fn the_sweep_restores_only_pods_whose_lease_lapsed() {
    let (client, server) = testcontext();
    let record = |expires: chrono::DateTime<Utc>| {
        json!({ "fault": "run1-f1", "containers": { "app": "ghcr.io/example/web:1.4.2" }, "expires": expires })
            .to_string()
    };
    let lapsed = PodFx::new("shop", "web-0", "node-a")
        .label(POD_FAILURE_LABEL, "run1-f1")
        .annotation(
            ORIGINAL_IMAGES_ANNOTATION,
            &record(Utc::now() - Duration::seconds(60)),
        );
    let live = PodFx::new("pay", "api-0", "node-b")
        .label(POD_FAILURE_LABEL, "run2-f1")
        .annotation(
            ORIGINAL_IMAGES_ANNOTATION,
            &record(Utc::now() + Duration::seconds(20)),
        );
    let calls = server.run(vec![
        Exchange::get("/api/v1/pods", pod_list(&[lapsed.clone(), live], ""))
            .query("labelSelector", POD_FAILURE_LABEL),
        Exchange::get(POD, lapsed.json()),
        Exchange::new(
            Method::PATCH,
            POD,
            PodFx::new("shop", "web-0", "node-a").json(),
        ),
    ]);
    let inj = PodFailureInjector::new(client.clone(), PAUSE);
    let restored = inj
        .sweep_lapsed(&Resolver::new(client, 500), Utc::now())
        .await
        .unwrap();
    let seen = done(calls).await;
    assert_eq!(
        restored,
        vec![("shop/web-0".to_string(), Restored::Restored)]
    );
    assert_eq!(
        images_of(&seen[2].body),
        vec![("app".into(), "ghcr.io/example/web:1.4.2".into())]
    );
}

fn directory(client: kube::Client) -> AgentDirectory {
    AgentDirectory::new(
        Resolver::new(client, 2),
        AgentSettings {
            namespace: "faultline".into(),
            selector: "app.kubernetes.io/name=faultline-agent".into(),
            port: 7150,
            token: Some("t0ken".into()),
        },
    )
}

fn agent(name: &str, node: &str, ip: &str) -> PodFx {
    let mut a = PodFx::new("faultline", name, node).ip(ip);
    a.labels = vec![("app.kubernetes.io/name".into(), "faultline-agent".into())];
    a
}

const AGENTS: &str = "/api/v1/namespaces/faultline/pods";

#[tokio::test]
async fn each_node_gets_its_ready_agent_from_one_paginated_list() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(
            AGENTS,
            pod_list(
                &[
                    agent("agent-a1", "node-a", "10.0.0.5").not_ready(),
                    agent("agent-b", "node-b", "fd00::7"),
                ],
                "p2",
            ),
        )
        .query("labelSelector", "app.kubernetes.io/name=faultline-agent")
        .query("limit", "2"),
        Exchange::get(
            AGENTS,
            pod_list(&[agent("agent-a2", "node-a", "10.0.0.6")], ""),
        )
        .query("continue", "p2"),
    ]);
    let nodes: BTreeSet<String> = ["node-a".into(), "node-b".into()].into();
    let got = directory(client).for_nodes(&nodes).await.unwrap();
    done(calls).await;
    // node-a's first agent pod is not ready (restarting); the ready one is used.
    assert_eq!(got["node-a"].url, "http://10.0.0.6:7150");
    assert_eq!(got["node-a"].pod, "faultline/agent-a2");
    assert_eq!(got["node-b"].url, "http://[fd00::7]:7150");
}

#[tokio::test]
async fn a_node_without_a_ready_agent_is_named() {
    for (agents, want) in [
        (
            vec![agent("agent-a", "node-a", "10.0.0.5")],
            "node node-c: no agent pod (app.kubernetes.io/name=faultline-agent) in namespace faultline runs on this node; is the DaemonSet scheduled there (taints, nodeSelector)?",
        ),
        (
            vec![
                agent("agent-c", "node-c", "10.0.0.9")
                    .phase("Pending")
                    .not_ready(),
            ],
            "node node-c: agent pod faultline/agent-c is not ready",
        ),
    ] {
        let (client, server) = testcontext();
        let calls = server.run(vec![Exchange::get(AGENTS, pod_list(&agents, ""))]);
        let err = directory(client)
            .for_nodes(&["node-c".to_string()].into())
            .await
            .unwrap_err();
        done(calls).await;
        assert_eq!(err.to_string(), want);
    }
}
