//! Opt-in tests against a real cluster: skipped here (no API server can run on this
//! machine), run by test.sh's `kube` tier as `cargo test --workspace -- --ignored kube_`
//! when KUBECONFIG is set. They need rights to create, patch and delete pods and leases in
//! `$FAULTLINE_TEST_NAMESPACE` (default `default`), and remove what they create even when
//! they fail.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use faultline::application::ports::Killed;
use faultline::application::ports::Restored;
use faultline::kube::agents::AgentSettings;
use faultline::kube::pod_failure::{ORIGINAL_IMAGES_ANNOTATION, read_annotation};
use faultline::kube::pod_kill::kill_pod;
use faultline::kube::{
    ClientOptions, Cluster, ClusterConfig, LeaderElector, LeaseConfig, PodFailureInjector, connect,
};
use faultline_spec::{Guard, PodSelector};
use futures::FutureExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams};

const APP_IMAGE: &str = "registry.k8s.io/busybox:1.36";
const PAUSE: &str = "registry.k8s.io/pause:3.10";

fn namespace() -> String {
    std::env::var("FAULTLINE_TEST_NAMESPACE").unwrap_or_else(|_| "default".into())
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Runs `body`, then `cleanup` whatever happened, then re-raises a failure.
async fn with_cleanup<F, C>(body: F, cleanup: C)
where
    F: Future<Output = ()>,
    C: Future<Output = ()>,
{
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn running(api: &Api<Pod>, name: &str) -> Pod {
    for _ in 0..120 {
        let p = api.get(name).await.unwrap();
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.iter().all(|c| c.container_id.is_some()));
        if ready && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
            return p;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("pod {name} did not start within 2 minutes");
}

fn image(p: &Pod) -> String {
    p.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs a cluster: set KUBECONFIG"]
async fn kube_pod_failure_restore_and_pod_kill_on_a_real_pod() {
    let client = connect(ClientOptions::default()).await.unwrap();
    let ns = namespace();
    let name = unique("faultline-test");
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "labels": { "app": "faultline-test" } },
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{ "name": "app", "image": APP_IMAGE, "command": ["sleep", "3600"] }],
        },
    }))
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();
    let body = async {
        running(&api, &name).await;
        let cluster = Cluster::new(
            client.clone(),
            ClusterConfig::new(AgentSettings {
                namespace: ns.clone(),
                selector: "app.kubernetes.io/name=faultline-agent".into(),
                port: 7150,
                token: None,
            }),
        );
        let sel: PodSelector = serde_json::from_value(serde_json::json!({
            "namespaces": [ns], "labelSelectors": { "app": "faultline-test" }, "mode": "all",
        }))
        .unwrap();
        let got = cluster.select(&sel, None, &Guard::default()).await.unwrap();
        let me = got
            .chosen
            .iter()
            .find(|p| p.name == name)
            .expect("the test pod is selected");
        assert!(
            me.containers[0].1.is_some(),
            "a started container has an ID"
        );

        let expires = chrono::Utc::now() + chrono::Duration::seconds(60);
        PodFailureInjector::new(client.clone(), PAUSE)
            .fail(&ns, &name, &[], "kubetest-f1", expires)
            .await
            .unwrap();
        let failed = api.get(&name).await.unwrap();
        assert_eq!(image(&failed), PAUSE);
        let rec = read_annotation(&failed, &name)
            .unwrap()
            .expect(ORIGINAL_IMAGES_ANNOTATION);
        assert_eq!(rec.containers["app"], APP_IMAGE);

        // A fresh injector restores from the annotation alone, as after a restart.
        let restored =
            PodFailureInjector::new(connect(ClientOptions::default()).await.unwrap(), PAUSE)
                .restore(&ns, &name)
                .await
                .unwrap();
        assert_eq!(restored, Restored::Restored);
        let back = api.get(&name).await.unwrap();
        assert_eq!(image(&back), APP_IMAGE);
        assert!(read_annotation(&back, &name).unwrap().is_none());

        assert_eq!(
            kill_pod(&client, &ns, &name, Some(0)).await.unwrap(),
            Killed::Deleted
        );
    };
    let cleanup = async {
        let _ = api
            .delete(&name, &DeleteParams::default().grace_period(0))
            .await;
    };
    with_cleanup(body, cleanup).await;
}

#[tokio::test]
#[ignore = "needs a cluster: set KUBECONFIG"]
async fn kube_two_electors_share_one_lease() {
    let client = connect(ClientOptions::default()).await.unwrap();
    let ns = namespace();
    let lease = unique("faultline-test-leader");
    let a = LeaderElector::new(client.clone(), LeaseConfig::new(&lease, &ns, "replica-a"));
    let b = LeaderElector::new(client.clone(), LeaseConfig::new(&lease, &ns, "replica-b"));
    let body = async {
        assert!(
            a.try_acquire_or_renew(Timestamp::now()).await.unwrap(),
            "the first replica leads"
        );
        assert!(
            !b.try_acquire_or_renew(Timestamp::now()).await.unwrap(),
            "a held lease is left alone"
        );
        assert!(
            a.try_acquire_or_renew(Timestamp::now()).await.unwrap(),
            "the leader renews"
        );
        a.release(Timestamp::now()).await.unwrap();
        assert!(
            b.try_acquire_or_renew(Timestamp::now()).await.unwrap(),
            "a released lease is taken at once"
        );
        assert!(!a.try_acquire_or_renew(Timestamp::now()).await.unwrap());
    };
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let cleanup = async {
        let _ = leases.delete(&lease, &DeleteParams::default()).await;
    };
    with_cleanup(body, cleanup).await;
}
