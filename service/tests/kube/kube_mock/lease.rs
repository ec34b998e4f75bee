//! Leader election over a coordination.k8s.io/v1 Lease.

use faultline::kube::agents::AgentSettings;
use faultline::kube::{Cluster, ClusterConfig, LeaderElector, LeaseConfig};
use http::Method;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use faultline_test_support::fakes::kube::{Exchange, done, lease, status, testcontext};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/faultline/leases";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/faultline/leases/faultline-leader";

fn now() -> Timestamp {
    "2026-12-01T09:00:00Z".parse().unwrap()
}

fn elector(client: kube::Client, me: &str) -> LeaderElector {
    LeaderElector::new(
        client,
        LeaseConfig::new("faultline-leader", "faultline", me),
    )
}

fn not_found() -> serde_json::Value {
    let mut s = status(
        404,
        "NotFound",
        "leases.coordination.k8s.io \"faultline-leader\" not found",
        "leases",
        "faultline-leader",
    );
    s["details"]["group"] = json!("coordination.k8s.io");
    s
}

fn conflict() -> serde_json::Value {
    let mut s = status(
        409,
        "Conflict",
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"faultline-leader\": the object has been modified; please apply your changes to the latest version and try again",
        "leases",
        "faultline-leader",
    );
    s["details"]["group"] = json!("coordination.k8s.io");
    s
}

#[tokio::test]
async fn the_first_replica_creates_the_lease_and_leads() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(LEASE, not_found()).status(404),
        Exchange::new(
            Method::POST,
            LEASES,
            lease(Some("svc-a"), "2026-12-01T09:00:00.000000Z", 0, "1"),
        )
        .status(201),
    ]);
    let cluster = Cluster::new(
        client.clone(),
        ClusterConfig::new(AgentSettings {
            namespace: "faultline".into(),
            selector: "app.kubernetes.io/name=faultline-agent".into(),
            port: 7150,
            token: None,
        }),
    );
    let e = elector(client, "svc-a");
    let mut leads = e.subscribe();
    assert_eq!(
        cluster.leads(),
        None,
        "no elector yet: /readyz says nothing about leading"
    );
    cluster.follow_leadership(e.subscribe());
    assert_eq!(cluster.leads(), Some(false));
    assert!(e.try_acquire_or_renew(now()).await.unwrap());
    assert_eq!(cluster.leads(), Some(true), "what /readyz reports");
    let seen = done(calls).await;
    let spec = &seen[1].body["spec"];
    assert_eq!(spec["holderIdentity"], json!("svc-a"));
    assert_eq!(spec["leaseDurationSeconds"], json!(15));
    assert_eq!(spec["leaseTransitions"], json!(0));
    assert!(
        spec["renewTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T09:00:00")
    );
    assert!(*leads.borrow_and_update());
    assert!(e.is_leader());
}

#[tokio::test]
async fn a_fresh_lease_of_another_replica_is_left_alone() {
    let (client, server) = testcontext();
    // Renewed 5 s ago with a 15 s duration: still held.
    let calls = server.run(vec![Exchange::get(
        LEASE,
        lease(Some("svc-b"), "2026-12-01T08:59:55.000000Z", 3, "7"),
    )]);
    let e = elector(client, "svc-a");
    assert!(!e.try_acquire_or_renew(now()).await.unwrap());
    done(calls).await;
    assert!(!e.is_leader());
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_with_its_resource_version() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(
            LEASE,
            lease(Some("svc-b"), "2026-12-01T08:59:40.000000Z", 3, "7"),
        ),
        Exchange::new(
            Method::PUT,
            LEASE,
            lease(Some("svc-a"), "2026-12-01T09:00:00.000000Z", 4, "8"),
        ),
    ]);
    let e = elector(client, "svc-a");
    assert!(e.try_acquire_or_renew(now()).await.unwrap());
    let seen = done(calls).await;
    let put = &seen[1].body;
    assert_eq!(
        put["metadata"]["resourceVersion"],
        json!("7"),
        "the write must be conditional"
    );
    assert_eq!(put["spec"]["holderIdentity"], json!("svc-a"));
    assert_eq!(put["spec"]["leaseTransitions"], json!(4));
    assert!(
        put["spec"]["acquireTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T09:00:00")
    );
}

#[tokio::test]
async fn the_holder_renews_and_keeps_its_acquire_time() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(
            LEASE,
            lease(Some("svc-a"), "2026-12-01T08:59:58.000000Z", 2, "9"),
        ),
        Exchange::new(
            Method::PUT,
            LEASE,
            lease(Some("svc-a"), "2026-12-01T09:00:00.000000Z", 2, "10"),
        ),
    ]);
    let e = elector(client, "svc-a");
    assert!(e.try_acquire_or_renew(now()).await.unwrap());
    let seen = done(calls).await;
    let spec = &seen[1].body["spec"];
    assert_eq!(spec["leaseTransitions"], json!(2));
    assert!(
        spec["acquireTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T07:00:00")
    );
    assert!(
        spec["renewTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T09:00:00")
    );
}

#[tokio::test]
async fn losing_the_race_for_a_lapsed_lease_is_not_leading() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(
            LEASE,
            lease(Some("svc-b"), "2026-12-01T08:50:00.000000Z", 3, "7"),
        ),
        Exchange::new(Method::PUT, LEASE, conflict()).status(409),
        Exchange::get(LEASE, not_found()).status(404),
        Exchange::new(Method::POST, LEASES, conflict()).status(409),
    ]);
    let e = elector(client, "svc-a");
    assert!(
        !e.try_acquire_or_renew(now()).await.unwrap(),
        "a 409 on update means another replica won"
    );
    assert!(
        !e.try_acquire_or_renew(now()).await.unwrap(),
        "a 409 on create means another replica won"
    );
    done(calls).await;
}

#[tokio::test]
async fn releasing_clears_the_holder_so_the_next_replica_need_not_wait() {
    let (client, server) = testcontext();
    let calls = server.run(vec![
        Exchange::get(LEASE, not_found()).status(404),
        Exchange::new(
            Method::POST,
            LEASES,
            lease(Some("svc-a"), "2026-12-01T09:00:00.000000Z", 0, "1"),
        )
        .status(201),
        Exchange::get(
            LEASE,
            lease(Some("svc-a"), "2026-12-01T09:00:00.000000Z", 0, "1"),
        ),
        Exchange::new(
            Method::PUT,
            LEASE,
            lease(None, "2026-12-01T09:00:01.000000Z", 0, "2"),
        ),
    ]);
    let e = elector(client, "svc-a");
    assert!(e.try_acquire_or_renew(now()).await.unwrap());
    e.release(now()).await.unwrap();
    let seen = done(calls).await;
    assert_eq!(seen[3].body["spec"].get("holderIdentity"), None);
    assert_eq!(seen[3].body["spec"]["leaseDurationSeconds"], json!(1));
    assert!(!e.is_leader());
}
