//! GitLab CI ID tokens through the real `faultline serve` (issue 28): a GitLab stand-in
//! on loopback serves the discovery document and JWKS of keys the test made with the
//! `openssl` CLI; tokens carry exactly GitLab's claims. The matrix — expired, not yet
//! valid, wrong audience, wrong issuer, unknown `kid`, `alg: none`, HS256 keyed with the
//! public key, a tampered payload, another project, a fork's merge request, a replayed
//! `jti`, a disallowed experiment or namespace — is each refused with its reason in the
//! answer, the metric and the refusals list; a valid token starts its run, which records
//! the job; a rotated key is fetched on its first use. No token reaches the log, the
//! metrics or the policies endpoint.

use super::serve_bin::Serve;
use crate::support::id_tokens::{Issuer, RsaKey, gitlab_claims, hs256, now, unsigned};
use crate::support::*;
use faultline_test_support::{client, empty_http_server, sleeper};
use serde_json::{Value, json};

const AUD: &str = "https://faultline.test";

fn config(issuer: &str) -> String {
    format!(
        r#"issuer: {issuer}
audience: {AUD}
leeway: 5s
keysCooldown: 3s
policies:
  - name: checkout-release
    claims: {{ project_id: "42", ref_protected: "true", ref: "release-*", environment: staging }}
    experiments: ["checkout-*"]
    namespaces: [checkout]
    role: operator
"#
    )
}

/// serve with the ID token config `config_text` (`Err` with its log when it refuses it).
fn serve(dir: &std::path::Path, config_text: &str) -> Result<Serve, String> {
    let cfg = dir.join("id-tokens.yaml");
    std::fs::write(&cfg, config_text).unwrap();
    Serve::start(dir, "-vv", &["--id-token-config", cfg.to_str().unwrap()])
}

/// POSTs `experiment` to /api/v1/runs with `token`: (status, answer).
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

/// Asserts the answer is `status` naming `reason`, and returns its message.
fn refused(got: &(u16, Value), status: u16, reason: &str) -> String {
    let msg = got.1["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(got.0, status, "{reason}: {}", got.1);
    assert!(
        msg.contains(&format!("ID token refused ({reason})")),
        "{reason}: {msg}"
    );
    msg
}

fn with(claims: &Value, changes: Value) -> Value {
    let mut c = claims.clone();
    for (k, v) in changes.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_are_verified_bound_by_policy_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let key = RsaKey::generate(dir.path(), "key-1");
    let rotated = RsaKey::generate(dir.path(), "key-2");
    let stranger = RsaKey::generate(dir.path(), "key-x");
    let issuer = Issuer::start(vec![key.jwk.clone()]);
    let s = serve(dir.path(), &config(&issuer.url)).expect("serve starts");
    let base = s.base.as_str();
    let (_web, web_port) = empty_http_server();
    let target = sleeper();
    let pid = target.0.id();
    let checkout = pause_yaml("checkout-pause", pid, web_port, "300ms");
    let good = || gitlab_claims(&issuer.url, AUD);
    let mut tokens: Vec<String> = Vec::new();
    let mut sent = |t: String| {
        tokens.push(t.clone());
        t
    };

    // The valid token of the allowed project, ref and environment starts its run; the
    // run records the job from the verified token.
    let valid = sent(key.sign(&good()));
    let (status, created) = start(base, &valid, &checkout).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(issuer.fetches(), 1, "keys fetched once, on first use");
    // A kid the issuer does not have, right after that fetch: refused without another.
    let unknown = sent(stranger.sign(&good()));
    refused(&start(base, &unknown, &checkout).await, 401, "unknown_kid");
    assert_eq!(issuer.fetches(), 1, "no refetch within the cooldown");
    let id = created["id"].as_str().unwrap().to_string();
    let run = wait_verdict(base, &id).await;
    assert_eq!(run["verdict"], "passed", "{run}");
    let g = &run["gitlab"];
    assert_eq!(
        (
            &g["event"],
            &g["projectId"],
            &g["projectPath"],
            &g["gitRef"],
            &g["pipelineId"],
            &g["jobId"]
        ),
        (
            &json!("ci"),
            &json!(42),
            &json!("shop/checkout"),
            &json!("release-1"),
            &json!(574),
            &json!(302)
        ),
        "{run}"
    );
    // The same token still reads its run (trigger --wait follows it) ...
    let r = client()
        .get(format!("{base}/api/v1/runs/{id}"))
        .bearer_auth(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // ... but starts nothing more.
    refused(&start(base, &valid, &checkout).await, 401, "replayed");

    // The matrix of bad tokens.
    let t = now();
    let expired = sent(key.sign(&with(
        &good(),
        json!({"iat": t - 900, "nbf": t - 900, "exp": t - 300}),
    )));
    refused(&start(base, &expired, &checkout).await, 401, "expired");
    let early = sent(key.sign(&with(&good(), json!({"nbf": t + 600}))));
    refused(&start(base, &early, &checkout).await, 401, "not_yet_valid");
    let future = sent(key.sign(&with(&good(), json!({"iat": t + 600}))));
    refused(
        &start(base, &future, &checkout).await,
        401,
        "issued_in_future",
    );
    let vault = sent(key.sign(&with(&good(), json!({"aud": "https://vault.example.org"}))));
    let m = refused(&start(base, &vault, &checkout).await, 401, "audience");
    assert!(
        m.contains("https://vault.example.org") && m.contains(AUD),
        "{m}"
    );
    let other_gitlab = sent(key.sign(&with(&good(), json!({"iss": "https://gitlab.example.org"}))));
    let m = refused(&start(base, &other_gitlab, &checkout).await, 401, "issuer");
    assert!(m.contains("https://gitlab.example.org"), "{m}");
    let none = sent(unsigned(&good(), &key.kid));
    let m = refused(&start(base, &none, &checkout).await, 401, "algorithm");
    assert!(m.contains("`none`"), "{m}");
    let confused = sent(hs256(&good(), &key.public_pem, &key.kid));
    let m = refused(&start(base, &confused, &checkout).await, 401, "algorithm");
    assert!(m.contains("`HS256`"), "{m}");
    // A valid signature over other claims: the payload swapped for another project's.
    let parts: Vec<&str> = valid.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(with(&good(), json!({"project_id": "43"})).to_string())
    };
    let tampered = sent(format!("{}.{forged_payload}.{}", parts[0], parts[2]));
    refused(&start(base, &tampered, &checkout).await, 401, "signature");

    // Valid tokens of jobs no policy admits.
    let payments = sent(key.sign(&with(
        &good(),
        json!({"project_id": "43", "project_path": "shop/payments"}),
    )));
    let m = refused(&start(base, &payments, &checkout).await, 403, "no_policy");
    assert!(
        m.contains("policy `checkout-release`: claim `project_id` is `43`, not `42`"),
        "{m}"
    );
    // A merge request from a fork runs in project 42, but project_* names the fork.
    let fork = sent(key.sign(&with(
        &good(),
        json!({
            "project_id": "1002", "project_path": "mallory/checkout",
            "namespace_id": "99", "namespace_path": "mallory",
            "job_project_id": "42", "job_project_path": "shop/checkout",
            "job_namespace_id": "7", "job_namespace_path": "shop",
            "pipeline_source": "merge_request_event",
            "ref": "release-evil", "ref_path": "refs/merge-requests/5/head",
            "ref_protected": "false",
        }),
    )));
    let m = refused(&start(base, &fork, &checkout).await, 403, "no_policy");
    assert!(m.contains("claim `project_id` is `1002`"), "{m}");

    // An admitted job, but an experiment or a namespace outside its policy: 403, and its
    // token is not spent by the refusal.
    let job = sent(key.sign(&good()));
    let m = refused(
        &start(
            base,
            &job,
            &pause_yaml("payments-pause", pid, web_port, "300ms"),
        )
        .await,
        403,
        "not_allowed",
    );
    assert!(m.contains("experiment `payments-pause`"), "{m}");
    let elsewhere = pause_yaml("checkout-elsewhere", pid, web_port, "300ms").replace(
        "metadata: { name: checkout-elsewhere }",
        "metadata: { name: checkout-elsewhere, namespace: payments }",
    );
    let m = refused(&start(base, &job, &elsewhere).await, 403, "not_allowed");
    assert!(m.contains("namespace `payments`"), "{m}");

    // GitLab rotates its key: past the cooldown, the first token with the new kid fetches
    // the keys again and is admitted; a kid still unknown after that is refused.
    issuer.keys.lock().unwrap().push(rotated.jwk.clone());
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let fetched = issuer.fetches();
    let (status, answer) = start(base, &sent(rotated.sign(&good())), &checkout).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(issuer.fetches(), fetched + 1);
    wait_verdict(base, answer["id"].as_str().unwrap()).await;
    refused(
        &start(base, &sent(stranger.sign(&good())), &checkout).await,
        401,
        "unknown_kid",
    );

    // A catalog experiment: a job starts it within its policy, but may not change the
    // catalog (webhooks and schedules run catalog entries without its bounds).
    let r = client()
        .post(format!("{base}/api/v1/experiments"))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("checkout-catalog", pid, web_port, "300ms"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = client()
        .post(format!("{base}/api/v1/experiments/checkout-catalog/runs"))
        .bearer_auth(sent(key.sign(&good())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let run = wait_verdict(
        base,
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(run["gitlab"]["jobId"], 302, "{run}");
    let r = client()
        .post(format!("{base}/api/v1/experiments"))
        .bearer_auth(sent(key.sign(&good())))
        .body(pause_yaml("checkout-catalog", pid, web_port, "1h"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let m = r.json::<Value>().await.unwrap()["error"].to_string();
    assert!(m.contains("not change the catalog"), "{m}");

    // The metric counts each reason; the policies endpoint shows the policies and the
    // refusals with the project and ref claimed.
    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (reason, n) in [
        ("expired", 1),
        ("not_yet_valid", 1),
        ("issued_in_future", 1),
        ("audience", 1),
        ("issuer", 1),
        ("unknown_kid", 2),
        ("algorithm", 2),
        ("signature", 1),
        ("no_policy", 2),
        ("not_allowed", 2),
        ("replayed", 1),
        ("keys_unavailable", 0),
    ] {
        let line = format!("faultline_id_token_refusals_total{{reason=\"{reason}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    let r = client()
        .get(format!("{base}/api/v1/auth/policies"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let policies_text = r.text().await.unwrap();
    let policies: Value = serde_json::from_str(&policies_text).unwrap();
    assert_eq!(policies["policies"][0]["name"], "checkout-release");
    assert_eq!(policies["policies"][0]["line"], 6);
    assert_eq!(
        policies["policies"][0]["claims"]["ref"],
        json!(["release-*"])
    );
    let refusals = policies["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 15, "{policies:#}");
    assert_eq!(refusals[0]["reason"], "unknown_kid", "newest first");
    let expired_row = refusals.iter().find(|r| r["reason"] == "expired").unwrap();
    assert_eq!(expired_row["projectPath"], "shop/checkout");
    assert_eq!(expired_row["gitRef"], "release-1");
    assert_eq!(expired_row["status"], 401);
    // A CI job is operator at most, and only where its policy says: the endpoint is
    // closed to a viewer, and a job token cannot read it unless its policy is operator.
    let r = client()
        .get(format!("{base}/api/v1/auth/policies"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // whoami names the job, and says it came as an ID token.
    let who: Value = client()
        .get(format!("{base}/api/v1/whoami"))
        .bearer_auth(sent(key.sign(&good())))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&who["name"], &who["auth"], &who["role"]),
        (
            &json!("shop/checkout job 302"),
            &json!("ci_job"),
            &json!("operator")
        ),
        "{who}"
    );

    // The audit log names the job as the actor of its runs (project, ref and pipeline
    // from the verified token) and of its refused starts; a token that did not verify is
    // audited as the job it only claims to be, by name alone.
    let audit_text = client()
        .get(format!("{base}/api/v1/audit?limit=1000"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let audit: Value = serde_json::from_str(&audit_text).unwrap();
    let records = audit["records"].as_array().unwrap();
    let job_actor = json!({
        "kind": "ci_job", "name": "shop/checkout job 302",
        "project": "shop/checkout", "ref": "release-1", "pipeline": "574"
    });
    let started = records
        .iter()
        .filter(|r| r["action"] == "run.start" && r["object"] == "checkout-pause")
        .collect::<Vec<_>>();
    assert!(
        started
            .iter()
            .any(|r| r["outcome"] == "ok" && r["actor"] == job_actor),
        "{started:#?}"
    );
    let replayed = started
        .iter()
        .find(|r| r["reason"].as_str().unwrap_or("").contains("(replayed)"))
        .unwrap_or_else(|| panic!("no refused replay in {started:#?}"));
    assert_eq!(
        (&replayed["outcome"], &replayed["actor"]),
        (&json!("refused"), &job_actor)
    );
    let refused_access = records
        .iter()
        .filter(|r| {
            r["action"] == "api.access"
                && r["outcome"] == "refused"
                && r["reason"].as_str().unwrap_or("").contains("(expired)")
        })
        .collect::<Vec<_>>();
    assert_eq!(refused_access.len(), 1, "{refused_access:#?}");
    assert_eq!(
        refused_access[0]["actor"],
        json!({"kind": "ci_job", "name": "unverified ID token claiming shop/checkout job 302"})
    );
    assert!(
        records.iter().any(|r| r["action"] == "experiment.put"
            && r["outcome"] == "refused"
            && r["actor"] == job_actor),
        "a job's refused catalog change is audited"
    );

    // No token, nor its signature, in the log, the metrics, the policies answer or the
    // audit log.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(
        log.contains("ID token refused"),
        "refusals are logged:\n{log}"
    );
    for t in &tokens {
        let signature = t.rsplit('.').next().unwrap();
        for (what, text) in [
            ("log", &log),
            ("metrics", &metrics),
            ("policies", &policies_text),
            ("audit log", &audit_text),
        ] {
            assert!(!text.contains(t.as_str()), "a token in the {what}");
            assert!(
                signature.is_empty() || !text.contains(signature),
                "a token's signature in the {what}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_pins_no_project_stops_the_start_with_its_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = config("https://gitlab.example.org").replace("project_id: \"42\", ", "");
    let err = match serve(dir.path(), &text) {
        Ok(_) => panic!("serve started with a policy that binds no project"),
        Err(e) => e,
    };
    assert!(err.contains("id-tokens.yaml:6:"), "{err}");
    assert!(
        err.contains("policies[0] (`checkout-release`): binds no project or group"),
        "{err}"
    );
}
