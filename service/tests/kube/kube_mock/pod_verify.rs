//! Pod faults read back after the apply, against the mock API server: podKill is seen when
//! the pod it killed (by uid) is gone or terminating, with its controller's replacement as
//! evidence; podFailure when its containers name the pause image. When the API server
//! shows the pod unchanged the run ends `error: fault did not take effect`, and a
//! podFailure is restored all the same.

use chrono::Utc;
use faultline::domain::RunState;
use faultline::kube::pod_failure::ORIGINAL_IMAGES_ANNOTATION;
use http::Method;
use serde_json::json;

use faultline_test_support::fakes::kube::{Exchange, done, pod_list, testcontext};

use super::engine::{PODS, cluster, faults, fixture, paused, runner, verifications, web};

#[tokio::test]
async fn a_killed_pod_seen_terminating_is_verified_and_its_replacement_named() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let pod = web(0, "node-a").owner("ReplicaSet", "web-6d5f");
    let sibling = web(1, "node-a")
        .owner("ReplicaSet", "web-6d5f")
        .created("2026-11-30T08:00:00Z");
    // Made by the ReplicaSet after the kill (its clock a minute ahead is still "after").
    let replacement = web(7, "node-b")
        .owner("ReplicaSet", "web-6d5f")
        .created(&(Utc::now() + chrono::Duration::seconds(60)).to_rfc3339());
    let other = web(9, "node-b").owner("StatefulSet", "db");
    let pods = pod_list(std::slice::from_ref(&pod), "");
    let calls = server.run(vec![
        Exchange::get(PODS, pods.clone()).query("labelSelector", "app=web"),
        Exchange::get(PODS, pods).query("labelSelector", "app=web"),
        Exchange::new(Method::DELETE, format!("{PODS}/web-0"), pod.json()),
        Exchange::get(format!("{PODS}/web-0"), pod.clone().terminating().json()),
        Exchange::get(
            PODS,
            pod_list(
                &[pod.clone().terminating(), sibling, replacement, other],
                "",
            ),
        )
        .without("labelSelector"),
    ]);
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        "    - podKill: {}\n",
        "{ labelSelectors: { app: web }, mode: one }",
    );
    assert_eq!(r.execute().await, RunState::Passed);
    done(calls).await;
    assert_eq!(
        verifications(&f),
        vec![(
            true,
            1,
            1,
            "pod shop/web-0: pod is terminating (deletionTimestamp set, phase Running); ReplicaSet/web-6d5f made replacement web-7".into()
        )]
    );
}

#[tokio::test]
async fn a_pod_the_api_shows_unchanged_after_the_kill_ends_the_run_in_error() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let pod = web(0, "node-a");
    let pods = pod_list(std::slice::from_ref(&pod), "");
    let calls = server.run(vec![
        Exchange::get(PODS, pods.clone()),
        Exchange::get(PODS, pods),
        Exchange::new(Method::DELETE, format!("{PODS}/web-0"), pod.json()),
        // Read until verify.within passes: the same pod, same uid, not terminating.
        Exchange::get(format!("{PODS}/web-0"), pod.json()).repeated(),
    ]);
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        "    - podKill: {}\n      verify: { within: 600ms }\n",
        "{ labelSelectors: { app: web }, mode: one }",
    );
    assert_eq!(r.execute().await, RunState::Error);
    done(calls).await;
    let uid = pod.uid_text();
    let evidence =
        format!("pod shop/web-0: pod uid {uid} still there, not terminating (phase Running)");
    assert_eq!(verifications(&f), vec![(false, 0, 1, evidence.clone())]);
    let (_, recovered, reason) = faults(&f);
    assert_eq!(
        reason,
        format!(
            "fault did not take effect: step podKill#1 (podKill) seen on 0/1 target(s) within 600ms, 100% needed: {evidence}"
        )
    );
    assert_eq!(recovered, vec![("run1-f1-0".into(), "instant".into())]);
}

#[tokio::test]
async fn a_pod_failure_the_api_shows_unchanged_ends_the_run_in_error_and_is_restored() {
    let f = fixture().await;
    let (client, server) = testcontext();
    let pod = web(0, "node-a");
    // The patch is accepted, but something (an admission webhook, a controller) put the
    // image back: the pod keeps the annotation and its original image.
    let mut reverted = pod.json();
    reverted["metadata"]["annotations"] = json!({ ORIGINAL_IMAGES_ANNOTATION: json!({
        "fault": "run1-f1", "containers": { "app": "ghcr.io/example/web:1.4.2" }, "expires": "2026-12-01T09:00:00Z"
    }).to_string() });
    let calls = server.run(vec![
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(PODS, pod_list(std::slice::from_ref(&pod), "")),
        Exchange::get(format!("{PODS}/web-0"), pod.json()),
        Exchange::new(Method::PATCH, format!("{PODS}/web-0"), paused(&reverted)),
        // The observation's reads until verify.within, then the restore's.
        Exchange::get(format!("{PODS}/web-0"), reverted.clone()).repeated(),
        Exchange::new(Method::PATCH, format!("{PODS}/web-0"), pod.json()),
    ]);
    let r = runner(
        &f,
        cluster(client, 7150, &[]),
        "    - podFailure: {}\n      duration: 10m\n      verify: { within: 600ms }\n",
        "{ namespaces: [shop], mode: all }",
    );
    let state = tokio::time::timeout(std::time::Duration::from_secs(10), r.execute())
        .await
        .expect("an unverified fault ends the run at verify.within, not its duration");
    assert_eq!(state, RunState::Error);
    let seen = done(calls).await;
    // The restore patched the original image back.
    assert_eq!(
        seen[5].body["spec"]["containers"][0]["image"],
        json!("ghcr.io/example/web:1.4.2")
    );
    let evidence = "pod shop/web-0: not the pause image registry.k8s.io/pause:3.10: app ghcr.io/example/web:1.4.2";
    assert_eq!(verifications(&f), vec![(false, 0, 1, evidence.to_string())]);
    let (_, recovered, reason) = faults(&f);
    assert!(
        reason.starts_with("fault did not take effect: step podFailure#1 (podFailure) seen on 0/1"),
        "{reason}"
    );
    assert_eq!(recovered, vec![("run1-f1-0".into(), "removed".into())]);
}
