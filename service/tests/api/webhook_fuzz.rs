//! Mutated GitLab payloads (R3 of the reliability suite): whatever GitLab — or anyone who
//! knows a project's secret — sends, the webhook answers without panicking, with a 2xx or
//! a 4xx, and never starts a run for a body it could not read.

use crate::support::*;
use faultline::api::GitlabHooks;
use faultline::api::webhooks::install;
use faultline::application::gitlab_trigger::GitlabConfig;
use faultline::application::gitlab_trigger::hooks::{EventKind, parse};
use faultline_test_support::client;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::Value;

const SECRET: &str = "fuzz-secret-0123456789";

fn fixtures() -> &'static [(EventKind, &'static str, Value)] {
    static FIXTURES: std::sync::OnceLock<Vec<(EventKind, &'static str, Value)>> =
        std::sync::OnceLock::new();
    FIXTURES.get_or_init(|| {
        [
            (EventKind::Push, "Push Hook", "push"),
            (
                EventKind::MergeRequest,
                "Merge Request Hook",
                "merge_request",
            ),
            (EventKind::Pipeline, "Pipeline Hook", "pipeline"),
            (EventKind::Job, "Job Hook", "job"),
            (EventKind::Deployment, "Deployment Hook", "deployment"),
        ]
        .into_iter()
        .map(|(k, h, f)| {
            let path = format!(
                "{}/tests/fixtures/gitlab/{f}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            (
                k,
                h,
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
            )
        })
        .collect()
    })
}

/// Every object path of `v` (`a.b.0.c`), to pick mutation points from.
fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(p.clone());
                paths(c, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                paths(c, &format!("{prefix}.{i}"), out);
            }
        }
        _ => {}
    }
}

fn pointer(path: &str) -> String {
    format!("/{}", path.replace('.', "/"))
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    Replace(usize, Value),
    Truncate(usize),
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({})),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        prop_oneof![
            any::<usize>().prop_map(Mutation::Remove),
            (any::<usize>(), any_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
            any::<usize>().prop_map(Mutation::Truncate),
        ],
        1..4,
    )
}

/// Applies `muts` to `doc`; returns the body bytes.
fn mutate(doc: &Value, muts: &[Mutation]) -> Vec<u8> {
    let mut v = doc.clone();
    let mut truncate = None;
    for m in muts {
        let mut ps = Vec::new();
        paths(&v, "", &mut ps);
        if ps.is_empty() {
            break;
        }
        match m {
            Mutation::Remove(i) => {
                let p = &ps[i % ps.len()];
                let (parent, key) = p.rsplit_once('.').unwrap_or(("", p));
                let target = if parent.is_empty() {
                    Some(&mut v)
                } else {
                    v.pointer_mut(&pointer(parent))
                };
                match target {
                    Some(Value::Object(o)) => {
                        o.remove(key);
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            Mutation::Replace(i, new) => {
                if let Some(slot) = v.pointer_mut(&pointer(&ps[i % ps.len()])) {
                    *slot = new.clone();
                }
            }
            Mutation::Truncate(at) => truncate = Some(*at),
        }
    }
    let mut bytes = serde_json::to_vec(&v).unwrap();
    if let Some(at) = truncate {
        bytes.truncate(at % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn mutated_payloads_parse_or_name_what_is_wrong(which in 0usize..5, muts in mutations()) {
        let (kind, _, doc) = &fixtures()[which];
        let body = mutate(doc, &muts);
        match parse(*kind, &body) {
            Ok(ev) => {
                prop_assert!(!ev.context.sha.is_empty());
                prop_assert!(!ev.context.project_path.is_empty());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn every_fixture_parses_to_what_gitlab_documented() {
    for (kind, _, doc) in fixtures() {
        let kind = *kind;
        let ev = parse(kind, &serde_json::to_vec(doc).unwrap()).unwrap();
        assert!(ev.context.project_id > 0, "{kind:?}");
        match kind {
            EventKind::Deployment => {
                // The full SHA comes from commit_url; the payload has only short_sha.
                assert_eq!(ev.context.sha, "279484c09fbe69ededfced8c1bb6e6d24616b468");
                assert_eq!(ev.context.environment.as_deref(), Some("staging"));
                assert_eq!(
                    ev.context.environment_url.as_deref(),
                    Some("https://staging.example.com")
                );
                assert_eq!(ev.status.as_deref(), Some("success"));
            }
            EventKind::Pipeline => {
                assert_eq!(
                    ev.context.pipeline_id,
                    doc["object_attributes"]["id"].as_u64()
                );
                assert_eq!(ev.context.mr_iid, doc["merge_request"]["iid"].as_u64());
                assert_eq!(ev.status.as_deref(), Some("success"));
            }
            EventKind::Push => {
                assert_eq!(ev.context.git_ref.as_deref(), Some("master"));
                assert_eq!(Some(ev.context.sha.as_str()), doc["checkout_sha"].as_str());
                assert_eq!(ev.status, None);
            }
            EventKind::MergeRequest => {
                assert_eq!(ev.context.mr_iid, doc["object_attributes"]["iid"].as_u64());
                assert_eq!(ev.status.as_deref(), Some("open"));
            }
            EventKind::Job => {
                assert_eq!(ev.context.pipeline_id, doc["pipeline_id"].as_u64());
                assert_eq!(ev.status.as_deref(), doc["build_status"].as_str());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_deliveries_get_2xx_or_4xx_and_unreadable_ones_run_nothing() {
    let cfg = GitlabConfig::parse(
        &format!("projects:\n  - path: \"*\"\n    secret: {SECRET}\nrules:\n  - events: [push, merge_request, pipeline, job, deployment]\n    experiments: [\"none-*\"]\n"),
        "fuzz.yaml",
    )
    .unwrap();
    let s = TestServer::start_fresh_with(
        |_, _| {},
        move |svc| {
            install(
                &svc.state,
                GitlabHooks {
                    config: cfg,
                    previews: None,
                    outbox: None,
                },
            )
        },
    )
    .await;
    let fx = fixtures();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (0usize..5, mutations());
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let (which, muts) = strategy.new_tree(&mut runner).unwrap().current();
        let (_, header, doc) = &fx[which];
        let res = client()
            .post(s.url("/webhooks/gitlab"))
            .header("X-Gitlab-Event", *header)
            .header("X-Gitlab-Token", SECRET)
            .body(mutate(doc, &muts))
            .send()
            .await
            .unwrap();
        let st = res.status().as_u16();
        assert!(
            (200..500).contains(&st),
            "{header} {muts:?}: {st} {}",
            res.text().await.unwrap()
        );
        *statuses.entry(st).or_insert(0) += 1;
    }
    // The catalog is empty: nothing may run, whatever was accepted.
    assert!(s.store.list_runs(10).unwrap().is_empty());
    assert!(
        statuses.contains_key(&400) && statuses.contains_key(&202),
        "{statuses:?}"
    );
}
