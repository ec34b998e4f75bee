//! Node faults in cluster mode against the mock API server: nodeCordon and nodeTaint
//! recorded on the Node in the same patch as the change and restored exactly, nodeDrain's
//! evictions (a DaemonSet pod skipped, a PodDisruptionBudget's 429 retried then reported
//! blocked), recovery after a failed verification and after an abort, the sweep of a
//! lapsed record, and zoneOutage through the node agents.

use std::time::Duration;

use chrono::Utc;
use faultline::domain::{RunEvent, RunState};
use faultline::kube::{CORDON_ANNOTATION, NODE_FAULT_LABEL, NodeInjector, TAINT_ANNOTATION};
use faultline_spec::{LocalTarget, NodeFault};
use http::Method;
use serde_json::{Value, json};

use super::engine::{Fixture, cluster, faults, fixture, runner};
use crate::support::fake_agent::{Call, FakeAgent};
use faultline_test_support::fakes::kube::objects::pod_list_json;
use faultline_test_support::fakes::kube::{
    Exchange, NodeFx, PodFx, done, eviction_accepted, eviction_blocked, node_list, pod_list,
    testcontext,
};

const NODES: &str = "/api/v1/nodes";
const NODE_A: &str = "/api/v1/nodes/node-a";

fn node_a() -> NodeFx {
    NodeFx::new("node-a", "192.168.49.2").label("pool", "batch")
}

/// `node` carrying `annotation` = the record of fault `run1-f1`.
fn marked(node: NodeFx, annotation: &str, record: Value) -> NodeFx {
    node.annotation(annotation, &record.to_string())
        .label(NODE_FAULT_LABEL, "run1-f1")
}

fn cordon_record(was: bool) -> Value {
    json!({ "fault": "run1-f1", "expires": "2026-12-01T09:00:00Z", "wasUnschedulable": was })
}

fn record_of(body: &Value, annotation: &str) -> Value {
    serde_json::from_str(
        body["metadata"]["annotations"][annotation]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

fn events(f: &Fixture) -> Vec<RunEvent> {
    f.store
        .events("run1")
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn a_cordon_is_recorded_on_the_node_verified_and_restored_exactly() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let cordoned = marked(node_a().cordoned(), CORDON_ANNOTATION, cordon_record(false));
    let calls = server.run(vec![
        // The guard lists the nodes before anything is injected; the step lists again.
        Exchange::get(NODES, node_list(&[node_a()])).query("labelSelector", "pool=batch"),
        Exchange::get(NODES, node_list(&[node_a()])).query("labelSelector", "pool=batch"),
        Exchange::get(NODE_A, node_a().json()),
        Exchange::new(Method::PATCH, NODE_A, cordoned.json()),
        // verify: read back.
        Exchange::get(NODE_A, cordoned.json()),
        // recovery: read the record, restore.
        Exchange::get(NODE_A, cordoned.json()),
        Exchange::new(Method::PATCH, NODE_A, node_a().json()),
    ]);
    let steps = "    - nodeCordon: {}\n      target: { nodeSelectors: { pool: batch }, mode: one }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    let seen = done(calls).await;
    let cordon = &seen[3].body;
    assert_eq!(seen[3].content_type, "application/merge-patch+json");
    assert_eq!(cordon["spec"], json!({ "unschedulable": true }));
    assert_eq!(
        cordon["metadata"]["labels"][NODE_FAULT_LABEL],
        json!("run1-f1")
    );
    assert_eq!(cordon["metadata"]["resourceVersion"], json!("90210"));
    let rec = record_of(cordon, CORDON_ANNOTATION);
    assert_eq!(rec["fault"], json!("run1-f1"));
    assert_eq!(rec["wasUnschedulable"], json!(false));
    let expires: chrono::DateTime<Utc> = rec["expires"].as_str().unwrap().parse().unwrap();
    assert!(
        expires > Utc::now() + chrono::Duration::seconds(100),
        "leased ~120 s"
    );
    // Restored: uncordoned (the field removed, as kubectl uncordon), record and label gone.
    let restore = &seen[6].body;
    assert_eq!(restore["spec"], json!({ "unschedulable": null }));
    assert_eq!(
        restore["metadata"]["annotations"],
        json!({ CORDON_ANNOTATION: null })
    );
    assert_eq!(
        restore["metadata"]["labels"],
        json!({ NODE_FAULT_LABEL: null })
    );
    let (applied, recovered, _) = faults(&f);
    assert_eq!(
        applied,
        vec![(
            "nodeCordon".into(),
            "run1-f1-0".into(),
            "node node-a".into()
        )]
    );
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
    let verified = events(&f).into_iter().find_map(|e| match e {
        RunEvent::FaultVerified {
            evidence,
            affected,
            selected,
            ..
        } => Some((evidence, affected, selected)),
        _ => None,
    });
    assert_eq!(
        verified,
        Some(("node node-a: spec.unschedulable = true".into(), 1, 1))
    );
}

#[tokio::test]
async fn a_node_cordoned_before_stays_cordoned_after_recovery() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let before = node_a().cordoned();
    let marked = marked(node_a().cordoned(), CORDON_ANNOTATION, cordon_record(true));
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(std::slice::from_ref(&before))).without("labelSelector"),
        Exchange::get(NODES, node_list(std::slice::from_ref(&before))),
        Exchange::get(NODE_A, before.json()),
        Exchange::new(Method::PATCH, NODE_A, marked.json()),
        Exchange::get(NODE_A, marked.json()),
        Exchange::new(Method::PATCH, NODE_A, before.json()),
    ]);
    let steps = "    - nodeCordon: {}\n      target: { nodes: [node-a], mode: all }\n      duration: 1s\n      verify: false\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    let seen = done(calls).await;
    assert_eq!(
        record_of(&seen[3].body, CORDON_ANNOTATION)["wasUnschedulable"],
        json!(true)
    );
    assert_eq!(seen[5].body["spec"], json!({ "unschedulable": true }));
}

#[tokio::test]
async fn a_taint_is_added_beside_the_others_and_exactly_it_is_removed() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let before = node_a().taint("dedicated", Some("gpu"), "NoSchedule");
    let record = json!({ "fault": "run1-f1", "expires": "2026-12-01T09:00:00Z",
        "taint": { "key": "faultline.dev/chaos", "value": "on", "effect": "NoExecute" } });
    let tainted = marked(
        before
            .clone()
            .taint("faultline.dev/chaos", Some("on"), "NoExecute"),
        TAINT_ANNOTATION,
        record,
    );
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(std::slice::from_ref(&before))),
        Exchange::get(NODES, node_list(std::slice::from_ref(&before))),
        Exchange::get(NODE_A, before.json()),
        Exchange::new(Method::PATCH, NODE_A, tainted.json()),
        Exchange::get(NODE_A, tainted.json()),
        Exchange::get(NODE_A, tainted.json()),
        Exchange::new(Method::PATCH, NODE_A, before.json()),
    ]);
    let steps = "    - nodeTaint: { key: faultline.dev/chaos, value: \"on\", effect: NoExecute }\n      target: { nodes: [node-a], mode: all }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    let seen = done(calls).await;
    let existing = json!({ "key": "dedicated", "value": "gpu", "effect": "NoSchedule", "timeAdded": "2026-11-02T10:00:00Z" });
    assert_eq!(
        seen[3].body["spec"]["taints"],
        json!([existing, { "key": "faultline.dev/chaos", "value": "on", "effect": "NoExecute" }])
    );
    let rec = record_of(&seen[3].body, TAINT_ANNOTATION);
    assert_eq!(
        rec["taint"],
        json!({ "key": "faultline.dev/chaos", "value": "on", "effect": "NoExecute" })
    );
    // Only ours removed; the node's own taint kept as it was.
    assert_eq!(seen[6].body["spec"]["taints"], json!([existing]));
    assert_eq!(
        seen[6].body["metadata"]["annotations"],
        json!({ TAINT_ANNOTATION: null })
    );
    let (_, recovered, _) = faults(&f);
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
}

#[tokio::test]
async fn a_taint_the_node_already_has_is_refused_and_nothing_is_patched() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let before = node_a().taint("chaos", None, "NoSchedule");
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(std::slice::from_ref(&before))),
        Exchange::get(NODES, node_list(std::slice::from_ref(&before))),
        Exchange::get(NODE_A, before.json()),
        // Recovery finds no record of this fault: nothing to restore, no patch.
        Exchange::get(NODE_A, before.json()),
    ]);
    let steps = "    - nodeTaint: { key: chaos, effect: NoSchedule }\n      target: { nodes: [node-a], mode: all }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Error);
    done(calls).await;
    let (applied, _, reason) = faults(&f);
    assert!(applied.is_empty());
    assert!(
        reason.contains("node node-a already has taint chaos:NoSchedule; recovery could not tell it from this fault's"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_drain_evicts_skips_daemonset_pods_and_reports_what_a_budget_blocked() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let cordoned = marked(node_a().cordoned(), CORDON_ANNOTATION, cordon_record(false));
    let mut ds = PodFx::new("logging", "fluent-bit-x7k2p", "node-a").json();
    ds["metadata"]["ownerReferences"] = json!([{ "apiVersion": "apps/v1", "kind": "DaemonSet",
        "name": "fluent-bit", "uid": "0d3e", "controller": true, "blockOwnerDeletion": true }]);
    let on_node = pod_list_json(
        vec![
            PodFx::new("shop", "web-0", "node-a").json(),
            ds,
            PodFx::new("kube-system", "coredns-5d78c9869d-x2x4p", "node-a").json(),
            PodFx::new("shop", "web-1", "node-a").json(),
        ],
        "",
    );
    let evict = |pod: &str| format!("/api/v1/namespaces/shop/pods/{pod}/eviction");
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(&[node_a()])),
        Exchange::get(NODES, node_list(&[node_a()])),
        Exchange::get(NODE_A, node_a().json()),
        Exchange::new(Method::PATCH, NODE_A, cordoned.json()),
        Exchange::get("/api/v1/pods", on_node).query("fieldSelector", "spec.nodeName=node-a"),
        Exchange::new(Method::POST, evict("web-0"), eviction_accepted()).status(201),
        Exchange::new(Method::POST, evict("web-1"), eviction_blocked("web-pdb")).status(429),
        // Retried until evictionTimeout (1s), never forced.
        Exchange::new(Method::POST, evict("web-1"), eviction_blocked("web-pdb")).status(429),
        Exchange::get(NODE_A, cordoned.json()),
        Exchange::get(NODE_A, cordoned.json()),
        Exchange::new(Method::PATCH, NODE_A, node_a().json()),
    ]);
    let steps = "    - nodeDrain: { evictionTimeout: 1s, gracePeriod: 10s }\n      target: { nodes: [node-a], mode: all }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    let seen = done(calls).await;
    assert_eq!(seen[3].body["spec"], json!({ "unschedulable": true }));
    assert_eq!(
        seen[5].body,
        json!({ "apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": { "name": "web-0", "namespace": "shop" },
            "deleteOptions": { "gracePeriodSeconds": 10 } })
    );
    assert!(
        seen.iter().all(|s| !s.uri.contains("fluent-bit")),
        "the DaemonSet pod is skipped"
    );
    assert!(
        seen.iter().all(|s| !s.uri.contains("coredns")),
        "a pod in a protected namespace is left"
    );
    assert!(
        seen.iter().all(|s| s.method != Method::DELETE),
        "nothing is forced"
    );
    let (applied, recovered, _) = faults(&f);
    assert_eq!(
        applied,
        vec![
            ("nodeDrain".into(), "run1-f1-0".into(), "node node-a".into()),
            (
                "nodeDrain".into(),
                "run1-f1-0e0".into(),
                "pod shop/web-0".into()
            ),
            (
                "nodeDrain".into(),
                "run1-f1-0e1".into(),
                "pod shop/web-1 (PodDisruptionBudget web-pdb)".into()
            ),
        ]
    );
    assert_eq!(
        recovered,
        vec![
            ("run1-f1-0e0".into(), "evicted".into()),
            ("run1-f1-0e1".into(), "blocked".into()),
            ("run1-f1-0".into(), "removed".into()),
        ]
    );
    // Uncordoned on recovery; the evicted pod is not brought back (no create).
    assert_eq!(seen[10].body["spec"], json!({ "unschedulable": null }));
}

#[tokio::test]
async fn a_cordon_the_api_does_not_show_is_unverified_and_still_restored() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let marked_only = marked(node_a(), CORDON_ANNOTATION, cordon_record(false));
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(&[node_a()])),
        Exchange::get(NODES, node_list(&[node_a()])),
        Exchange::get(NODE_A, node_a().json()),
        Exchange::new(Method::PATCH, NODE_A, marked_only.json()),
        // Read back twice within 100ms: still schedulable (something undid it).
        Exchange::get(NODE_A, marked_only.json()),
        Exchange::get(NODE_A, marked_only.json()),
        // The failed check ends the run; recovery still restores the node.
        Exchange::get(NODE_A, marked_only.json()),
        Exchange::new(Method::PATCH, NODE_A, node_a().json()),
    ]);
    let steps = "    - nodeCordon: {}\n      target: { nodes: [node-a], mode: all }\n      duration: 10m\n      verify: { within: 100ms }\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Error);
    let seen = done(calls).await;
    assert_eq!(
        seen[7].body["metadata"]["annotations"],
        json!({ CORDON_ANNOTATION: null })
    );
    let (_, recovered, reason) = faults(&f);
    assert!(reason.contains("fault did not take effect"), "{reason}");
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
    let unverified = events(&f).into_iter().find_map(|e| match e {
        RunEvent::FaultUnverified { evidence, .. } => Some(evidence),
        _ => None,
    });
    assert_eq!(
        unverified.as_deref(),
        Some("node node-a: spec.unschedulable = false")
    );
}

#[tokio::test]
async fn an_abort_during_a_cordon_uncordons_the_node() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let cordoned = marked(node_a().cordoned(), CORDON_ANNOTATION, cordon_record(false));
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(&[node_a()])),
        Exchange::get(NODES, node_list(&[node_a()])),
        Exchange::get(NODE_A, node_a().json()),
        Exchange::new(Method::PATCH, NODE_A, cordoned.json()),
        Exchange::get(NODE_A, cordoned.json()),
        Exchange::new(Method::PATCH, NODE_A, node_a().json()),
    ]);
    let steps = "    - nodeCordon: {}\n      target: { nodes: [node-a], mode: all }\n      duration: 10m\n      verify: false\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    let abort = r.abort_handle();
    let r = r.on_event(move |e| {
        if matches!(e, RunEvent::FaultApplied { .. }) {
            abort.abort("operator pressed stop");
        }
    });
    let state = tokio::time::timeout(Duration::from_secs(10), r.execute())
        .await
        .expect("the abort did not end the run");
    assert_eq!(state, RunState::Aborted);
    let seen = done(calls).await;
    assert_eq!(seen[5].body["spec"], json!({ "unschedulable": null }));
    let (_, recovered, _) = faults(&f);
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
}

#[tokio::test]
async fn the_guard_refuses_control_plane_nodes_and_too_many_nodes() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let cp = NodeFx::new("cp-1", "192.168.49.1").label("node-role.kubernetes.io/control-plane", "");
    let calls = server.run(vec![Exchange::get(NODES, node_list(&[cp, node_a()]))]);
    let steps = "    - nodeCordon: {}\n      target: { nodes: [cp-1, node-a], mode: all }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Failed);
    done(calls).await;
    let (applied, _, reason) = faults(&f);
    assert!(applied.is_empty());
    assert_eq!(
        reason,
        "guard: node cp-1 is a control-plane node (set spec.guard.allowControlPlane: true to allow it); nothing injected"
    );

    let f = fixture().await;
    let (client, server) = testcontext();
    let b = NodeFx::new("node-b", "192.168.49.3").label("pool", "batch");
    let calls = server.run(vec![Exchange::get(NODES, node_list(&[node_a(), b]))]);
    let steps = "    - nodeDrain: {}\n      target: { nodeSelectors: { pool: batch }, mode: all }\n      duration: 1s\n  guard: { maxTargets: 1 }\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Failed);
    done(calls).await;
    let (_, _, reason) = faults(&f);
    assert_eq!(
        reason,
        "guard: nodes pool=batch (mode all) would hit 2 of 2 matching nodes, over spec.guard.maxTargets = 1; nothing injected"
    );
}

#[tokio::test]
async fn the_sweep_restores_a_node_whose_record_lapsed_and_leaves_a_live_one() {
    let (client, server) = testcontext();
    let lapsed = marked(node_a().cordoned(), CORDON_ANNOTATION, cordon_record(false));
    let live = NodeFx::new("node-b", "192.168.49.3")
        .cordoned()
        .annotation(
            CORDON_ANNOTATION,
            &json!({ "fault": "run2-f1", "expires": "2999-01-01T00:00:00Z", "wasUnschedulable": false }).to_string(),
        )
        .label(NODE_FAULT_LABEL, "run2-f1");
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(&[lapsed.clone(), live]))
            .query("labelSelector", NODE_FAULT_LABEL),
        Exchange::get(NODE_A, lapsed.json()),
        Exchange::new(Method::PATCH, NODE_A, node_a().json()),
    ]);
    let restored = NodeInjector::new(client)
        .sweep_lapsed(Utc::now())
        .await
        .unwrap();
    let seen = done(calls).await;
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].0, "node-a");
    assert_eq!(restored[0].1.outcome(), "removed");
    assert_eq!(seen[2].body["spec"], json!({ "unschedulable": null }));
}

fn agent_pod(name: &str, node: &str) -> PodFx {
    let mut a = PodFx::new("faultline", name, node).ip("127.0.0.1");
    a.labels = vec![("app.kubernetes.io/name".into(), "faultline-agent".into())];
    a
}

#[tokio::test]
async fn a_zone_outage_partitions_each_zone_node_from_the_other_zones_through_its_agent() {
    let f = fixture().await;
    let agent = FakeAgent::start("t0ken").await;
    let (client, server) = testcontext();
    let zone = "topology.kubernetes.io/zone";
    let nodes = [
        NodeFx::new("a-1", "10.0.1.1").label(zone, "eu-west-1a"),
        NodeFx::new("a-2", "10.0.1.2").label(zone, "eu-west-1a"),
        NodeFx::new("b-1", "10.0.2.1").label(zone, "eu-west-1b"),
        NodeFx::new("c-1", "10.0.3.1").label(zone, "eu-west-1c"),
    ];
    let calls = server.run(vec![
        Exchange::get(NODES, node_list(&nodes)).query("labelSelector", zone),
        Exchange::get(
            "/api/v1/namespaces/faultline/pods",
            pod_list(
                &[agent_pod("agent-a1", "a-1"), agent_pod("agent-a2", "a-2")],
                "",
            ),
        )
        .query("labelSelector", "app.kubernetes.io/name=faultline-agent"),
    ]);
    let yaml_steps = "    - zoneOutage: { zone: eu-west-1a }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, agent.port, &[]),
        yaml_steps,
        "{ namespaces: [shop], mode: all }",
    );
    let state = r.execute().await;
    assert_eq!(state, RunState::Passed, "{:?}", faults(&f).2);
    done(calls).await;
    let mut applies: Vec<(String, Vec<LocalTarget>, NodeFault)> = agent
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::Apply(req) => Some((req.id.to_string(), req.targets.clone(), req.kind.clone())),
            _ => None,
        })
        .collect();
    applies.sort_by(|a, b| a.0.cmp(&b.0));
    let partition: NodeFault = serde_json::from_value(json!({ "networkPartition": {
        "direction": "both", "peers": ["10.0.2.1/32", "10.0.3.1/32"] } }))
    .unwrap();
    let host = vec![LocalTarget::Netns("/proc/1/ns/net".into())];
    assert_eq!(
        applies,
        vec![
            ("run1-f1n0".into(), host.clone(), partition.clone()),
            ("run1-f1n1".into(), host, partition),
        ]
    );
    let mut recovers: Vec<String> = agent
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::Recover(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    recovers.sort();
    assert_eq!(recovers, vec!["run1-f1n0", "run1-f1n1"]);
    let verified = events(&f).into_iter().any(|e| {
        matches!(
            e,
            RunEvent::FaultVerified {
                affected: 2,
                selected: 2,
                ..
            }
        )
    });
    assert!(
        verified,
        "each zone node's partition read back through its agent"
    );
    let (mut applied, _, _) = faults(&f);
    applied.sort();
    assert_eq!(
        applied,
        vec![
            ("zoneOutage".into(), "run1-f1n0-0".into(), "node a-1".into()),
            ("zoneOutage".into(), "run1-f1n1-0".into(), "node a-2".into()),
        ]
    );
    agent.stop().await;
}
