//! A GitLab CI ID token starts one run across every replica on one PostgreSQL store: its
//! `jti` is spent in the shared `spent_tokens` table, so the same token replayed to
//! another replica is refused (`replayed`), and a fresh token sent to two replicas at the
//! same moment starts exactly one run. Tokens are signed by the GitLab stand-in of the
//! API tests (keys made by the `openssl` CLI, discovery and JWKS on loopback).

use serde_json::Value;

use faultline_test_support::{client, empty_http_server, sleeper};

use super::database;
use super::replicas::{replica, shared_agent};
use crate::support::id_tokens::{Issuer, RsaKey, gitlab_claims};
use crate::support::{pause_yaml, wait_verdict};

const AUD: &str = "https://faultline.test";

fn config(issuer: &str) -> String {
    format!(
        "issuer: {issuer}\naudience: {AUD}\nleeway: 5s\npolicies:\n  - name: checkout-release\n    \
         claims: {{ project_id: \"42\", ref_protected: \"true\", ref: \"release-*\", environment: staging }}\n    \
         experiments: [\"checkout-*\"]\n    namespaces: [checkout]\n    role: operator\n"
    )
}

async fn start(base: &str, token: &str, experiment: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(experiment.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn is_replay(got: &(u16, Value)) -> bool {
    got.0 == 401
        && got.1["error"]
            .as_str()
            .unwrap_or_default()
            .contains("ID token refused (replayed)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_spent_on_one_replica_is_refused_on_another() {
    let Some((_pg, url)) = database("spent_tokens") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = RsaKey::generate(dir.path(), "key-1");
    let issuer = Issuer::start(vec![key.jwk.clone()]);
    let cfg = dir.path().join("id-tokens.yaml");
    std::fs::write(&cfg, config(&issuer.url)).unwrap();
    let agent = shared_agent().await;
    let extra = ["--id-token-config", cfg.to_str().unwrap()];
    let a = replica(dir.path(), "a", &url, &agent, &extra);
    let b = replica(dir.path(), "b", &url, &agent, &extra);
    let (_web, web_port) = empty_http_server();
    let target = sleeper();
    let checkout = pause_yaml("checkout-pause", target.0.id(), web_port, "300ms");

    let token = key.sign(&gitlab_claims(&issuer.url, AUD));
    let first = start(&a.base, &token, &checkout).await;
    assert_eq!(first.0, 201, "{}", first.1);
    let replayed = start(&b.base, &token, &checkout).await;
    assert!(
        is_replay(&replayed),
        "replica b let the spent token through: {replayed:?}"
    );
    let again = start(&a.base, &token, &checkout).await;
    assert!(is_replay(&again), "replica a: {again:?}");
    let id = first.1["id"].as_str().unwrap().to_string();
    assert_eq!(wait_verdict(&b.base, &id).await["verdict"], "passed");

    // A fresh token handed to both replicas at once: one run, one refusal.
    let token = key.sign(&gitlab_claims(&issuer.url, AUD));
    let (x, y) = tokio::join!(
        start(&a.base, &token, &checkout),
        start(&b.base, &token, &checkout)
    );
    let started = [&x, &y].iter().filter(|g| g.0 == 201).count();
    let refused = [&x, &y].iter().filter(|g| is_replay(g)).count();
    assert_eq!((started, refused), (1, 1), "{x:?} {y:?}");
    for got in [&x, &y] {
        if got.0 == 201 {
            let id = got.1["id"].as_str().unwrap();
            assert_eq!(wait_verdict(&a.base, id).await["verdict"], "passed");
        }
    }
}
