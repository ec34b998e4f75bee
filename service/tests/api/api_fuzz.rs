//! API bodies under mutation (R3): random bytes, truncated and mutated experiments and
//! envelopes, to every route that reads a body. The service never answers 5xx, never
//! panics, and a body it refuses creates nothing.

use crate::support::*;
use faultline_test_support::client;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use reqwest::StatusCode;

const GOOD: &str = "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: fuzz }
spec:
  target: { local: { pid: 1 } }
  guard: { dryRun: true }
  steadyState:
    - name: up
      http: { url: \"http://127.0.0.1:9/\", every: 1s }
      expect: \">= 0.99\"
  steps:
    - networkDelay: { latency: 10ms, jitter: 1ms }
      duration: 1s
";

/// A mutation of GOOD (or of an envelope around it): bytes replaced, inserted, removed.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let base = prop_oneof![
        Just(GOOD.as_bytes().to_vec()),
        Just(
            serde_json::json!({ "experiment": GOOD, "dryRun": true })
                .to_string()
                .into_bytes()
        ),
        Just(
            serde_json::json!({ "experiment": GOOD, "gitlab": { "projectId": 1 } })
                .to_string()
                .into_bytes()
        ),
        prop::collection::vec(any::<u8>(), 0..256),
    ];
    (
        base,
        prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..6),
    )
        .prop_map(|(mut b, edits)| {
            for (at, byte, op) in edits {
                let i = if b.is_empty() { 0 } else { at % b.len() };
                match op {
                    0 if !b.is_empty() => b[i] = byte,
                    1 => b.insert(i, byte),
                    _ if !b.is_empty() => {
                        b.remove(i);
                    }
                    _ => {}
                }
            }
            b
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_bodies_get_2xx_or_4xx_and_never_start_a_run() {
    let s = TestServer::start().await;
    let routes = [
        "/api/v1/runs",
        "/api/v1/experiments",
        "/api/v1/runs/nope/abort",
        "/api/v1/emergency-stop",
        "/webhooks/alertmanager",
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (0usize..routes.len(), bodies(), any::<bool>());
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..150 {
        let (r, body, yaml) = strategy.new_tree(&mut runner).unwrap().current();
        let route = routes[r];
        if route == "/api/v1/emergency-stop" {
            // A valid body would engage the stop; only the refusals are under test here.
            if serde_json::from_slice::<serde_json::Value>(&body).is_ok()
                || body.iter().all(u8::is_ascii_whitespace)
            {
                continue;
            }
        }
        let res = client()
            .post(s.url(route))
            .bearer_auth(ADMIN)
            .header(
                "content-type",
                if yaml {
                    "application/yaml"
                } else {
                    "application/json"
                },
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let st = res.status();
        let text = res.text().await.unwrap();
        assert!(
            !st.is_server_error(),
            "{route} answered {st} to {:?}: {text}",
            String::from_utf8_lossy(&body)
        );
        if st.is_client_error() {
            let v: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{route} {st}: not JSON: {text}"));
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{route} {st}: {text}"
            );
        }
        *seen.entry((route, st.as_u16())).or_insert(0) += 1;
    }
    // Every experiment here is a dry run (guard.dryRun) or refused: nothing ran.
    assert!(s.store.list_runs(10).unwrap().is_empty(), "{seen:?}");
    assert!(
        seen.keys()
            .any(|(_, st)| *st == StatusCode::BAD_REQUEST.as_u16()),
        "{seen:?}"
    );
    eprintln!("{seen:?}");
}
