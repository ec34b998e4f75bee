//! Tokens never show up in logs or reports (reliability suite R4): the real `faultline
//! serve` at trace verbosity takes good, bad and wrong-role tokens on every kind of route,
//! runs an experiment, and serves its reports; neither its stderr/stdout nor any report
//! holds a token, and each bad token got its 401 or 403.

use std::time::Duration;

use super::serve_bin::Serve;
use crate::support::*;
use faultline_test_support::{client, empty_http_server, sleeper};
use serde_json::Value;

/// A token nobody was given, sent as if it were one.
const STOLEN: &str = "not-a-real-token-but-a-secret-9f8e7d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_logs_or_reports() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), "-vvv", &[]).expect("serve starts");
    let base = serve.base.clone();
    let (_web, web_port) = empty_http_server();
    let target = sleeper();
    let c = client();

    // Refusals: a made-up token, a viewer where an operator is needed, a token in the
    // wrong header shape.
    let r = c
        .get(format!("{base}/api/v1/runs"))
        .bearer_auth(STOLEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(VIEWER)
        .body(pause_yaml("secret", target.0.id(), web_port, "1s"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{base}/api/v1/emergency-stop"))
        .header("Authorization", format!("Token {OPERATOR}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(format!("{base}/webhooks/alertmanager"))
        .bearer_auth(STOLEN)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(r.status() == 401 || r.status() == 404, "{}", r.status());

    // A real run, end to end, with its reports fetched.
    let r = c
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(OPERATOR)
        .body(pause_yaml("secret", target.0.id(), web_port, "1s"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_verdict(&base, &id).await;
    let mut texts = Vec::new();
    for report in ["report.html", "report.json", "junit.xml", "events"] {
        let r = c
            .get(format!("{base}/api/v1/runs/{id}/{report}"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{report}: {}", r.status());
        // The events stream stays open: read what is there, not to the end.
        let body = tokio::time::timeout(Duration::from_secs(2), r.text()).await;
        let body = match body {
            Ok(Ok(text)) => text,
            _ => String::new(),
        };
        assert!(!body.is_empty() || report == "events", "{report} was empty");
        texts.push((report.to_string(), body));
    }
    let metrics = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    texts.push(("metrics".into(), metrics));
    // Give the log a moment to be flushed, then read everything the service wrote.
    tokio::time::sleep(Duration::from_millis(300)).await;
    texts.push((
        "stderr".into(),
        std::fs::read_to_string(&serve.log).unwrap(),
    ));
    texts.push((
        "stdout".into(),
        std::fs::read_to_string(&serve.out).unwrap(),
    ));
    for entry in walkdir(&dir.path().join("state")) {
        // The SQLite store too: binary, but experiment and event text sits in it as is.
        if let Ok(bytes) = std::fs::read(&entry) {
            texts.push((
                entry.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    assert!(
        texts
            .iter()
            .any(|(n, t)| n == "stderr" && t.contains("serving") && t.contains("TRACE")),
        "the log is not the trace-level log it should be (nothing to check against)"
    );
    for (name, text) in &texts {
        for token in [VIEWER, OPERATOR, ADMIN, STOLEN] {
            assert!(!text.contains(token), "{name} contains a token: {token}");
        }
    }
}

/// Every file under `root`.
fn walkdir(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
