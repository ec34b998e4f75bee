//! The governance sections of serve's config file with the real binary: `audit.file`
//! ships every stored record as one JSON line, named tokens are the audit log's actors,
//! the start-up is recorded as a config load, `windows:` refuses a trigger with 409, and
//! a bad section stops the start naming the file, line and field.

use super::serve_bin::{refused, start};
use faultline_test_support::{client, closed_port, empty_http_server};
use reqwest::StatusCode;
use serde_json::Value;

const ALICE: &str = "alice-admin-token-0123456789";
const CI: &str = "ci-operator-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_file_holds_every_stored_record_and_windows_refuse_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tokens"),
        format!("admin/alice:{ALICE}\noperator/deploy-bot:{CI}\n"),
    )
    .unwrap();
    let (hold, port) = closed_port();
    std::fs::write(
        d.join("serve.yaml"),
        format!(
            "listen: 127.0.0.1:{port}\nstateDir: state\ntokensFile: tokens\naudit:\n  file: logs/audit.jsonl\nwindows:\n  - name: frozen-forever\n    experiments: [\"frozen-*\"]\n    freeze: [\"2000-01-01..2099-12-31\"]\n"
        ),
    )
    .unwrap();
    let config = d.join("serve.yaml").display().to_string();
    hold.release();
    let (serve, addr) = start(d, &["--config", &config], &[]);
    let base = format!("http://{addr}");

    let (_web, web_port) = empty_http_server();
    let spec = crate::support::pause_yaml("frozen-checkout", 1, web_port, "1s");
    let r = client()
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(CI)
        .header("content-type", "application/yaml")
        .body(spec)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "outside change window `frozen-forever` (frozen 2000-01-01..2099-12-31 UTC)"
        ),
        "{error}"
    );
    // A freeze's end is found however far away it is.
    assert!(
        error.ends_with("; next allowed 2100-01-01T00:00:00+00:00"),
        "{error}"
    );
    let runs: Value = client()
        .get(format!("{base}/api/v1/runs"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        runs["runs"],
        serde_json::json!([]),
        "a refused trigger made a run"
    );

    let page: Value = client()
        .get(format!("{base}/api/v1/audit"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = page["records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 2, "{records:#?}");
    let refused = &records[0];
    assert_eq!(refused["action"], "run.start");
    assert_eq!(refused["actor"]["name"], "deploy-bot");
    assert_eq!(refused["outcome"], "refused");
    let load = &records[1];
    assert_eq!(load["action"], "config.load");
    assert_eq!(
        load["actor"],
        serde_json::json!({"kind": "system", "name": "serve"})
    );
    assert_eq!(load["object"], config.as_str());
    assert!(
        load["reason"]
            .as_str()
            .unwrap()
            .contains("1 change window(s)"),
        "{load}"
    );

    // The file has the same records, oldest first, one JSON document a line.
    let text = std::fs::read_to_string(d.join("logs/audit.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut newest_first = lines.clone();
    newest_first.reverse();
    assert_eq!(newest_first, records);
    drop(serve);
}

#[test]
fn a_bad_governance_section_stops_the_start_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tokens"), "admin:x-0123456789\n").unwrap();
    std::fs::write(
        d.join("serve.yaml"),
        "tokensFile: tokens\nstateDir: state\nwindows:\n  - name: hours\n    allow: [\"Mon-Fri 9-17 Europe/Berlin\"]\nveto:\n  url: ftp://incidents\n",
    )
    .unwrap();
    let config = d.join("serve.yaml").display().to_string();
    let err = refused(d, &["--config", &config], &[]);
    assert!(
        err.contains(
            "serve.yaml:5:13: windows[0].allow[0]: `9-17`: hours must be like 09:00-16:00"
        ),
        "{err}"
    );
    assert!(
        err.contains("serve.yaml:7:8: veto.url: malformed URL"),
        "{err}"
    );
    assert!(
        !d.join("state").exists(),
        "state created despite a bad config"
    );
}
