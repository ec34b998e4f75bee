//! Runs in cluster mode end to end: the engine resolves the pods through the mock API
//! server, applies podKill / podFailure through it and agent faults through a fake node
//! agent, and recovers them at the step end or on abort.

use std::sync::Arc;
use std::time::Duration;

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::domain::{RunEvent, RunState};
use faultline::kube::agents::AgentSettings;
use faultline::kube::pod_failure::ORIGINAL_IMAGES_ANNOTATION;
use faultline::kube::{Cluster, ClusterConfig};
use faultline::store::Store;
use faultline_agent::agent::Agent;
use http::Method;
use serde_json::json;

use faultline_test_support::fakes::kube::{
    Exchange, PodFx, done, pod_list, pod_not_found, testcontext,
};

pub(crate) const PODS: &str = "/api/v1/namespaces/shop/pods";

pub(crate) struct Fixture {
    pub(crate) store: Arc<Store>,
    pub(crate) agent: Arc<Agent>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    Fixture {
        agent: Arc::new(Agent::open(dir.path().join("agent")).await.unwrap()),
        store: Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap()),
        _dir: dir,
    }
}

pub(crate) fn runner(f: &Fixture, cluster: Cluster, steps: &str, target: &str) -> Runner {
    runner_traced(f, cluster, steps, target, None)
}

/// As [`runner`], with fault spans opened through `traces`.
pub(crate) fn runner_traced(
    f: &Fixture,
    cluster: Cluster,
    steps: &str,
    target: &str,
    traces: Option<Arc<dyn faultline::application::ports::observe::FaultTraces>>,
) -> Runner {
    let yaml = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: pods, namespace: shop }}\nspec:\n  target: {target}\n  steps:\n{steps}"
    );
    let exp = faultline_spec::load_str(&yaml, "t.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    f.store.create_run("run1", "pods", "{}").unwrap();
    let opts = RunOptions {
        lease: Duration::from_secs(30),
        cluster: Some(std::sync::Arc::new(cluster)),
        fault_traces: traces,
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

pub(crate) fn cluster(client: kube::Client, port: u16, protected: &[&str]) -> Cluster {
    Cluster::new(
        client,
        ClusterConfig {
            protected_namespaces: protected.iter().map(|s| s.to_string()).collect(),
            ..ClusterConfig::new(AgentSettings {
                namespace: "faultline".into(),
                selector: "app.kubernetes.io/name=faultline-agent".into(),
                port,
                token: Some("t0ken".into()),
            })
        },
    )
}

/// (kind, fault, target) of each FaultApplied and (fault, outcome) of each FaultRecovered.
pub(crate) type Applied = Vec<(String, String, String)>;
pub(crate) type Recovered = Vec<(String, String)>;

pub(crate) fn faults(f: &Fixture) -> (Applied, Recovered, String) {
    let mut applied = Vec::new();
    let mut recovered = Vec::new();
    let mut last_reason = String::new();
    for e in f.store.events("run1").unwrap() {
        match e.event {
            RunEvent::FaultApplied {
                fault,
                kind,
                target,
                ..
            } => applied.push((kind, fault, target)),
            RunEvent::FaultRecovered { fault, outcome } => recovered.push((fault, outcome)),
            RunEvent::StateChanged { reason, .. } if !reason.is_empty() => last_reason = reason,
            _ => {}
        }
    }
    (applied, recovered, last_reason)
}

/// (verified, affected, selected, evidence) of each FaultVerified / FaultUnverified.
pub(crate) fn verifications(f: &Fixture) -> Vec<(bool, usize, usize, String)> {
    f.store
        .events("run1")
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            RunEvent::FaultVerified {
                affected,
                selected,
                evidence,
                ..
            } => Some((true, affected, selected, evidence)),
            RunEvent::FaultUnverified {
                affected,
                selected,
                evidence,
                ..
            } => Some((false, affected, selected, evidence)),
            _ => None,
        })
        .collect()
}

/// `pod` (JSON) with every container's spec image the pause image, as after podFailure's
/// patch (its status still shows what ran before the kubelet restarts it).
pub(crate) fn paused(pod: &serde_json::Value) -> serde_json::Value {
    let mut p = pod.clone();
    for c in p["spec"]["containers"].as_array_mut().unwrap() {
        c["image"] = json!("registry.k8s.io/pause:3.10");
    }
    p
}

pub(crate) fn web(i: usize, node: &str) -> PodFx {
    PodFx::new("shop", &format!("web-{i}"), node)
}

#[tokio::test]
async fn a_pod_kill_run_deletes_the_chosen_pod_and_records_it() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let pods = pod_list(&[web(0, "node-a")], "");
    let calls = server.run(vec![
        // The guard lists first, before anything is injected; the step lists again.
        Exchange::get(PODS, pods.clone()).query("labelSelector", "app=web"),
        Exchange::get(PODS, pods).query("labelSelector", "app=web"),
        Exchange::new(
            Method::DELETE,
            format!("{PODS}/web-0"),
            web(0, "node-a").json(),
        ),
        // The observation: the pod is gone.
        Exchange::get(format!("{PODS}/web-0"), pod_not_found("web-0")).status(404),
    ]);
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        "    - podKill: { gracePeriod: 0s }\n",
        "{ labelSelectors: { app: web }, mode: one }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    let seen = done(calls).await;
    assert_eq!(seen[2].body["gracePeriodSeconds"], json!(0));
    let (applied, recovered, _) = faults(&f);
    assert_eq!(
        applied,
        vec![(
            "podKill".into(),
            "run1-f1-0".into(),
            "pod shop/web-0".into()
        )]
    );
    assert_eq!(recovered, vec![("run1-f1-0".into(), "instant".into())]);
    assert_eq!(
        verifications(&f),
        vec![(true, 1, 1, "pod shop/web-0: pod is gone (404)".into())]
    );
}

#[tokio::test]
async fn a_pod_failure_run_patches_then_restores_at_the_step_end() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let pod = web(0, "node-a");
    let mut failed = pod.json();
    failed["metadata"]["annotations"] = json!({ ORIGINAL_IMAGES_ANNOTATION: json!({
        "fault": "run1-f1", "containers": { "app": "ghcr.io/example/web:1.4.2" }, "expires": "2026-12-01T09:00:00Z"
    }).to_string() });
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(format!("{PODS}/web-0"), pod.json()),
        Exchange::new(Method::PATCH, format!("{PODS}/web-0"), failed.clone()),
        // The observation reads the pod back (its container names the pause image), and
        // so does the restore.
        Exchange::get(format!("{PODS}/web-0"), paused(&failed)).repeated(),
        Exchange::new(Method::PATCH, format!("{PODS}/web-0"), pod.json()),
    ]);
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        "    - podFailure: {}\n      duration: 1s\n",
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    let seen = done(calls).await;
    assert_eq!(
        seen[3].body["spec"]["containers"][0]["image"],
        json!("registry.k8s.io/pause:3.10")
    );
    assert_eq!(
        seen[5].body["spec"]["containers"][0]["image"],
        json!("ghcr.io/example/web:1.4.2")
    );
    let (applied, recovered, _) = faults(&f);
    assert_eq!(
        applied,
        vec![(
            "podFailure".into(),
            "run1-f1-0".into(),
            "pod shop/web-0".into()
        )]
    );
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
    assert_eq!(
        verifications(&f),
        vec![(
            true,
            1,
            1,
            "pod shop/web-0: pause image registry.k8s.io/pause:3.10 on app (still running ghcr.io/example/web:1.4.2)".into()
        )]
    );
}

#[tokio::test]
async fn an_abort_during_pod_failure_restores_the_pod() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let pod = web(0, "node-a");
    let mut failed = pod.json();
    failed["metadata"]["annotations"] = json!({ ORIGINAL_IMAGES_ANNOTATION: json!({
        "fault": "run1-f1", "containers": { "app": "ghcr.io/example/web:1.4.2" }, "expires": "2026-12-01T09:00:00Z"
    }).to_string() });
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(format!("{PODS}/web-0"), pod.json()),
        Exchange::new(Method::PATCH, format!("{PODS}/web-0"), failed.clone()),
        // The observation reads the pod back (its container names the pause image), and
        // so does the restore.
        Exchange::get(format!("{PODS}/web-0"), paused(&failed)).repeated(),
        Exchange::new(Method::PATCH, format!("{PODS}/web-0"), pod.json()),
    ]);
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        "    - podFailure: {}\n      duration: 10m\n",
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
    assert_eq!(
        seen[5].body["spec"]["containers"][0]["image"],
        json!("ghcr.io/example/web:1.4.2")
    );
    let (_, recovered, _) = faults(&f);
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
}

#[tokio::test]
async fn guard_refusals_fail_the_run_before_anything_is_injected() {
    // A namespace the service protects: refused without a single API call.
    let f = fixture().await;
    let (client, server) = testcontext();
    let calls = server.run(vec![]);
    let r = runner(
        &f,
        cluster(client, 7150, &["kube-system", "faultline"]),
        "    - podKill: {}\n",
        "{ namespaces: [faultline], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Failed);
    done(calls).await;
    let (applied, _, reason) = faults(&f);
    assert!(applied.is_empty());
    assert_eq!(
        reason,
        "guard: namespace `faultline` is protected (the service's --protect-namespace); nothing injected"
    );

    // More pods than spec.guard.maxTargets: listed, refused, nothing deleted.
    let f = fixture().await;
    let (client, server) = testcontext();
    let calls = server.run(vec![Exchange::get(
        PODS,
        pod_list(&[web(0, "a"), web(1, "a"), web(2, "b")], ""),
    )]);
    let yaml_steps = "    - podKill: {}\n  guard: { maxTargets: 2 }\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        yaml_steps,
        "{ namespaces: [shop], mode: all }",
    );
    assert_eq!(r.execute().await, RunState::Failed);
    done(calls).await;
    let (applied, _, reason) = faults(&f);
    assert!(applied.is_empty());
    assert_eq!(
        reason,
        "guard: pods (all) in shop (mode all) would hit 3 of 3 matching pods, over spec.guard.maxTargets = 2; nothing injected"
    );
}

#[tokio::test]
async fn a_peer_selector_on_a_local_target_is_refused_not_sent_unresolved() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let calls = server.run(vec![]);
    let steps = "    - networkPartition: { peerSelector: { namespaces: [pay], mode: all } }\n      duration: 1s\n";
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        steps,
        "{ local: { pid: 1 } }",
    );
    assert_eq!(r.execute().await, RunState::Error);
    done(calls).await;
    let (applied, _, reason) = faults(&f);
    assert!(applied.is_empty());
    assert!(reason.contains("`peerSelector` names pods"), "{reason}");
}
