//! The Kubernetes layer against kube's mock service (see
//! `faultline_test_support::fakes::kube`): every call the code makes is asserted (method,
//! path, query) and answered with real API JSON. No API server runs here; `kube_cluster.rs`
//! holds the opt-in tests for a real cluster.

mod agent_faults;
mod engine;
mod lease;
mod node_faults;
mod pod_faults;
mod pod_verify;
mod tasks;

use std::collections::BTreeSet;

use faultline::application::ports::Killed;
use faultline::kube::agents::AgentSettings;
use faultline::kube::pod_kill::kill_pod;
use faultline::kube::{Cluster, ClusterConfig, KubeError};
use faultline_spec::{Guard, PodSelector};
use faultline_test_support::fakes::kube::{
    ApiServerVerifier, Exchange, PodFx, container_id, done, pod_list, pod_not_found, status,
    testcontext,
};
use http::Method;
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/shop/pods";

fn selector(v: Value) -> PodSelector {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("selector: {e}"))
}

fn guard(v: Value) -> Guard {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("guard: {e}"))
}

fn cluster(client: kube::Client) -> Cluster {
    Cluster::new(
        client,
        ClusterConfig {
            page_size: 2,
            ..ClusterConfig::new(AgentSettings {
                namespace: "faultline".into(),
                selector: "app.kubernetes.io/name=faultline-agent".into(),
                port: 7150,
                token: Some("t0ken".into()),
            })
        },
    )
}

fn names(sel: &faultline::application::ports::Selection) -> BTreeSet<String> {
    sel.chosen.iter().map(|p| p.key()).collect()
}

fn web(i: usize) -> PodFx {
    PodFx::new("shop", &format!("web-{i}"), "node-a")
}

#[tokio::test]
async fn selectors_go_to_the_api_server_and_pages_are_followed() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(&[web(0), web(1)], "page-2-token"))
            .query("labelSelector", "app=web,tier in (front,edge),!legacy")
            .query("fieldSelector", "spec.nodeName=node-a")
            .query("limit", "2")
            .without("continue"),
        Exchange::get(PODS, pod_list(&[web(2)], ""))
            .query("labelSelector", "app=web,tier in (front,edge),!legacy")
            .query("continue", "page-2-token"),
    ]);
    let sel = selector(json!({
        "namespaces": ["shop"],
        "labelSelectors": { "app": "web" },
        "expressionSelectors": [
            { "key": "tier", "operator": "In", "values": ["front", "edge"] },
            { "key": "legacy", "operator": "DoesNotExist" },
        ],
        "fieldSelectors": { "spec.nodeName": "node-a" },
        "mode": "all",
    }));
    let got = cluster(client)
        .select(&sel, None, &Guard::default())
        .await
        .unwrap();
    done(calls).await;
    assert_eq!(got.matched, 3);
    assert_eq!(
        names(&got),
        ["shop/web-0", "shop/web-1", "shop/web-2"]
            .map(String::from)
            .into()
    );
    let p = got.chosen.iter().find(|p| p.name == "web-1").unwrap();
    assert_eq!(p.node.as_deref(), Some("node-a"));
    assert_eq!(
        p.containers,
        vec![("app".to_string(), Some(container_id("web-1", "app")))]
    );
    assert_eq!(p.label(), "pod shop/web-1");
}

#[tokio::test]
async fn annotations_and_phases_are_filtered_after_listing() {
    let (client, server) = testcontext();
    let pods = [
        web(0).annotation("team", "sre"),
        web(1).annotation("team", "sre").phase("Pending"),
        web(2).annotation("team", "web"),
        web(3),
        web(4).annotation("team", "sre"),
    ];
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(&pods[..2], "t2")).without("labelSelector"),
        Exchange::get(PODS, pod_list(&pods[2..4], "t3")).query("continue", "t2"),
        Exchange::get(PODS, pod_list(&pods[4..], "")).query("continue", "t3"),
    ]);
    let sel = selector(json!({
        "namespaces": ["shop"],
        "annotationSelectors": { "team": "sre" },
        "podPhaseSelectors": ["Running"],
        "mode": "all",
    }));
    let got = cluster(client)
        .select(&sel, None, &Guard::default())
        .await
        .unwrap();
    done(calls).await;
    assert_eq!(
        names(&got),
        ["shop/web-0", "shop/web-4"].map(String::from).into()
    );
}

/// A core/v1 NodeList with these node names, as the API server sends it.
fn node_list(names: &[&str]) -> Value {
    let items: Vec<Value> = names
        .iter()
        .map(|n| json!({ "metadata": { "name": n, "labels": { "pool": "spot" } } }))
        .collect();
    json!({ "kind": "NodeList", "apiVersion": "v1", "metadata": { "resourceVersion": "7" }, "items": items })
}

#[tokio::test]
async fn nodes_and_node_selectors_keep_pods_on_those_nodes_combined() {
    let (client, server) = testcontext();
    let pods = [
        web(0),
        PodFx::new("shop", "web-1", "node-b"),
        PodFx::new("shop", "web-2", "node-c"),
        PodFx::new("shop", "web-3", "node-d"),
    ];
    let calls = server.run(vec![
        // Chaos Mesh lists the nodes `nodeSelectors` names by label, then keeps the pods
        // scheduled on them or on a node of `nodes`.
        Exchange::get("/api/v1/nodes", node_list(&["node-c"])).query("labelSelector", "pool=spot"),
        Exchange::get(PODS, pod_list(&pods, "")).query("labelSelector", "app=web"),
    ]);
    let sel = selector(json!({
        "namespaces": ["shop"],
        "labelSelectors": { "app": "web" },
        "nodes": ["node-a"],
        "nodeSelectors": { "pool": "spot" },
        "mode": "all",
    }));
    let got = cluster(client)
        .select(&sel, None, &Guard::default())
        .await
        .unwrap();
    done(calls).await;
    assert_eq!(
        names(&got),
        ["shop/web-0", "shop/web-2"].map(String::from).into()
    );
    assert!(
        got.described.contains("on node node-a") && got.described.contains("pool=spot"),
        "{}",
        got.described
    );
}

#[tokio::test]
async fn named_pods_are_fetched_and_a_missing_one_is_skipped() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(format!("{PODS}/web-0"), web(0).json()),
        Exchange::get(format!("{PODS}/web-9"), pod_not_found("web-9")).status(404),
    ]);
    // Named pods ignore the other selectors, as in Chaos Mesh: no list call is made.
    let sel = selector(json!({
        "labelSelectors": { "app": "other" },
        "pods": { "shop": ["web-0", "web-9"] },
        "mode": "all",
    }));
    let got = cluster(client)
        .select(&sel, Some("elsewhere"), &Guard::default())
        .await
        .unwrap();
    done(calls).await;
    assert_eq!(names(&got), ["shop/web-0".to_string()].into());
}

#[tokio::test]
async fn every_mode_picks_among_the_listed_pods() {
    let all: Vec<PodFx> = (0..10).map(web).collect();
    for (mode, value, want) in [
        ("one", None, 1..=1),
        ("all", None, 10..=10),
        ("fixed", Some("3"), 3..=3),
        ("fixed", Some("30"), 10..=10),
        ("fixed-percent", Some("25"), 2..=2),
        ("random-max-percent", Some("40"), 0..=4),
    ] {
        let (client, server) = testcontext();
        let calls = server.run(vec![
            Exchange::get(PODS, pod_list(&all[..5], "next")),
            Exchange::get(PODS, pod_list(&all[5..], "")).query("continue", "next"),
        ]);
        let mut sel = json!({ "namespaces": ["shop"], "mode": mode });
        if let Some(v) = value {
            sel["value"] = json!(v);
        }
        let c = Cluster::new(
            client,
            ClusterConfig {
                page_size: 5,
                ..cluster_cfg()
            },
        );
        let got = c
            .select(&selector(sel), None, &Guard::default())
            .await
            .unwrap();
        done(calls).await;
        assert_eq!(got.matched, 10, "{mode}");
        assert!(
            want.contains(&got.chosen.len()),
            "{mode} {value:?}: {} pods",
            got.chosen.len()
        );
        assert_eq!(
            names(&got).len(),
            got.chosen.len(),
            "{mode}: a pod chosen twice"
        );
    }
}

fn cluster_cfg() -> ClusterConfig {
    ClusterConfig::new(AgentSettings {
        namespace: "faultline".into(),
        selector: "app.kubernetes.io/name=faultline-agent".into(),
        port: 7150,
        token: None,
    })
}

#[tokio::test]
async fn nothing_selected_is_an_error_naming_the_selector() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(&[], "")).query("labelSelector", "app=gone"),
    ]);
    let sel = selector(json!({ "labelSelectors": { "app": "gone" }, "mode": "one" }));
    // No namespaces: the experiment's namespace is searched.
    let err = cluster(client)
        .select(&sel, Some("shop"), &Guard::default())
        .await
        .unwrap_err();
    done(calls).await;
    assert_eq!(
        err.to_string(),
        "no pod is selected by pods app=gone in shop (mode one)"
    );
}

#[tokio::test]
async fn protected_namespaces_are_refused_before_any_call() {
    for (sel, g, want) in [
        (
            json!({ "namespaces": ["kube-system"], "mode": "all" }),
            json!({}),
            "guard: namespace `kube-system` is protected (the service's --protect-namespace)",
        ),
        (
            json!({ "pods": { "payments": ["db-0"] }, "mode": "all" }),
            json!({ "protectedNamespaces": ["payments"] }),
            "guard: namespace `payments` is protected (spec.guard.protectedNamespaces)",
        ),
    ] {
        let (client, server) = testcontext();
        let calls = server.run(vec![]);
        let err = cluster(client)
            .check(&selector(sel), None, &guard(g))
            .await
            .unwrap_err();
        assert!(matches!(err, KubeError::Guard(_)), "{err}");
        assert_eq!(err.to_string(), want);
        done(calls).await;
    }
}

#[tokio::test]
async fn max_targets_and_max_percent_refuse_after_listing_naming_the_limit() {
    let all: Vec<PodFx> = (0..4).map(web).collect();
    for (mode, g, want) in [
        (
            json!({ "mode": "fixed", "value": "3" }),
            json!({ "maxTargets": 2 }),
            "guard: pods (all) in shop (mode fixed 3) would hit 3 of 4 matching pods, over spec.guard.maxTargets = 2",
        ),
        (
            // The worst case of random-max-percent counts, not today's draw.
            json!({ "mode": "random-max-percent", "value": "100" }),
            json!({ "maxPercent": "50" }),
            "guard: pods (all) in shop (mode random-max-percent 100) would hit 4 of 4 matching pods, over spec.guard.maxPercent = 50",
        ),
    ] {
        let (client, server) = testcontext();
        let calls = server.run(vec![
            Exchange::get(PODS, pod_list(&all[..2], "n")),
            Exchange::get(PODS, pod_list(&all[2..], "")),
        ]);
        let mut sel = mode.clone();
        sel["namespaces"] = json!(["shop"]);
        let err = cluster(client)
            .check(&selector(sel), None, &guard(g))
            .await
            .unwrap_err();
        done(calls).await;
        assert_eq!(err.to_string(), want);
    }
}

#[tokio::test]
async fn pod_kill_deletes_with_the_grace_period_and_a_gone_pod_is_fine() {
    let (client, server) = testcontext();
    let mut deleting = web(0).json();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T09:00:05Z");
    let calls = server.run(vec![
        Exchange::new(Method::DELETE, format!("{PODS}/web-0"), deleting),
        Exchange::new(
            Method::DELETE,
            format!("{PODS}/web-1"),
            pod_not_found("web-1"),
        )
        .status(404),
    ]);
    assert_eq!(
        kill_pod(&client, "shop", "web-0", Some(5)).await.unwrap(),
        Killed::Deleted
    );
    assert_eq!(
        kill_pod(&client, "shop", "web-1", None).await.unwrap(),
        Killed::AlreadyGone
    );
    let seen = done(calls).await;
    assert_eq!(seen[0].body["gracePeriodSeconds"], json!(5));
    assert_eq!(seen[1].body.get("gracePeriodSeconds"), None);
}

#[tokio::test]
async fn pod_kill_reports_an_api_refusal() {
    let (client, server) = testcontext();
    let forbidden = status(
        403,
        "Forbidden",
        "pods \"web-0\" is forbidden: User \"system:serviceaccount:faultline:faultline\" cannot delete resource \"pods\" in API group \"\" in the namespace \"shop\"",
        "pods",
        "web-0",
    );
    let calls = server.run(vec![
        Exchange::new(Method::DELETE, format!("{PODS}/web-0"), forbidden).status(403),
    ]);
    let err = kill_pod(&client, "shop", "web-0", None).await.unwrap_err();
    done(calls).await;
    let text = faultline_agent::agent::error_chain(&err);
    assert!(
        text.starts_with("failed to delete pod shop/web-0: "),
        "{text}"
    );
    assert!(text.contains("cannot delete resource"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn the_client_side_rate_limit_paces_a_paginated_list() {
    use faultline::kube::{RateLimitLayer, Resolver};
    use tower::Layer;
    let (svc, handle) = tower_test::mock::pair::<
        http::Request<kube::client::Body>,
        http::Response<kube::client::Body>,
    >();
    // QPS 10, burst 1: four pages are one call at once and three 100 ms apart.
    let client =
        kube::client::ClientBuilder::new(RateLimitLayer::new(10.0, 1).layer(svc), "default")
            .build();
    let pods: Vec<PodFx> = (0..4).map(web).collect();
    let calls = ApiServerVerifier::from_handle(handle).run(vec![
        Exchange::get(PODS, pod_list(&pods[..1], "1")),
        Exchange::get(PODS, pod_list(&pods[1..2], "2")).query("continue", "1"),
        Exchange::get(PODS, pod_list(&pods[2..3], "3")).query("continue", "2"),
        Exchange::get(PODS, pod_list(&pods[3..], "")).query("continue", "3"),
    ]);
    let start = tokio::time::Instant::now();
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(client.clone(), "shop");
    let got = Resolver::new(client, 1)
        .list_all(&api, kube::api::ListParams::default(), "namespace shop")
        .await
        .unwrap();
    let took = start.elapsed();
    done(calls).await;
    assert_eq!(got.len(), 4);
    assert!(
        (std::time::Duration::from_millis(300)..std::time::Duration::from_millis(320))
            .contains(&took),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_dry_run_in_cluster_mode_lists_the_pods_and_applies_the_guard() {
    use faultline::application::dry_run::{dry_run, resolve_in_cluster};
    let yaml = "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: { name: dry, namespace: shop }\nspec:\n  target: { labelSelectors: { app: web }, mode: fixed, value: \"2\" }\n  guard: { maxTargets: 3 }\n  steps:\n    - podKill: {}\n    - podKill: {}\n      target: { namespaces: [pay], mode: all }\n";
    let exp = faultline_spec::load_str(yaml, "t.yaml").unwrap().remove(0);
    let (client, server) = testcontext();
    let pay: Vec<PodFx> = (0..5)
        .map(|i| PodFx::new("pay", &format!("api-{i}"), "node-b"))
        .collect();
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(&[web(0), web(1), web(2)], ""))
            .query("labelSelector", "app=web"),
        Exchange::get("/api/v1/namespaces/pay/pods", pod_list(&pay, "")),
    ]);
    let mut plan = dry_run(&exp, false);
    assert_eq!(
        plan.refusal, None,
        "without the cluster the guard cannot count pods"
    );
    resolve_in_cluster(&mut plan, &exp, &cluster(client)).await;
    done(calls).await;
    assert_eq!(
        plan.targets[0].resolved,
        Some(json!({ "matchingPods": 3, "mode": "fixed 2", "atMost": 2 }))
    );
    assert_eq!(
        plan.refusal.as_deref(),
        Some(
            "guard: pods (all) in pay (mode all) would hit 5 of 5 matching pods, over spec.guard.maxTargets = 3; nothing would be injected"
        )
    );
}
