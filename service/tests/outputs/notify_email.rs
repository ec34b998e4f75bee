//! Email notifications against a real SMTP server (aiosmtpd, started by the test on a
//! loopback port): the received mail's headers, both parts and the verdict values; then
//! a real run whose SMTP server is down when it ends, and the mail arriving after retries
//! once the server is started.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline::application::engine::inject::Injector;
use faultline::application::engine::runner::{RunOptions, Runner};
use faultline::application::ports::NotificationStatus;
use faultline::domain::RunState;
use faultline::notify::{Channels, Notifier, NotifyConfig, RetryPolicy, Templates};
use faultline::store::Store;
use faultline_agent::agent::Agent;
use faultline_spec::load_str;

use crate::support::notify::{finish_run, settled, spec_with_notify};
use faultline_test_support::peers::{have_aiosmtpd, smtp_sink};
use faultline_test_support::{closed_port, sleeper};

fn config(port: u16) -> NotifyConfig {
    let text = format!(
        "reportUrl: https://faultline.example.org/runs/{{run}}/report.html
environment: staging
email:
  host: 127.0.0.1
  port: {port}
  security: none
  from: \"Prüfstand faultline <faultline@example.org>\"
routes:
  - email: [\"Équipe SRE <sre@example.org>\", oncall@example.org]
"
    );
    NotifyConfig::parse(&text, "notify.yaml").unwrap()
}

/// Waits for `n` mails in `dir` (30 s at most) and returns them.
async fn mails(dir: &Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        if files.len() >= n {
            files.sort();
            return files
                .iter()
                .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{n} mail(s) expected, {} after 30 s",
            files.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
        max_attempts: 30,
    }
}

#[tokio::test]
async fn a_failed_run_is_mailed_with_headers_parts_and_values() {
    if !have_aiosmtpd() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (socket, port) = closed_port();
    let _smtp = smtp_sink(socket, out.path());
    let store = Arc::new(Store::open_in_memory().unwrap());
    let channels = Channels::new(config(port), Templates::load(None).unwrap()).unwrap();
    let n = Notifier::start(channels, store.clone(), fast());
    let spec = spec_with_notify(serde_json::json!([]));
    finish_run(
        &store,
        &*n.observer(),
        "run-mail-1",
        "caisse-sous-stress-é",
        &spec,
        RunState::Failed,
    );
    let rows = settled(&store, "run-mail-1").await;
    assert_eq!(rows.len(), 1, "one route, one mail");
    assert_eq!(
        (rows[0].status, rows[0].attempts),
        (NotificationStatus::Sent, 1),
        "{rows:?}"
    );

    let m = &mails(out.path(), 1).await[0];
    assert_eq!(
        m["subject"],
        "[faultline] FAILED caisse-sous-stress-é (staging)"
    );
    assert_eq!(m["from"], "Prüfstand faultline <faultline@example.org>");
    assert_eq!(m["to"], "Équipe SRE <sre@example.org>, oncall@example.org");
    assert_eq!(m["mail_from"], "faultline@example.org");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["sre@example.org", "oncall@example.org"])
    );
    let id = format!("<faultline.run-mail-1.{}@example.org>", rows[0].id);
    assert_eq!(m["message_id"], id.as_str());
    assert_eq!(m["date_parsed"], true, "Date: {}", m["date"]);
    assert_eq!(
        m["headers_ascii"], true,
        "non-ASCII names must be RFC 2047-encoded"
    );
    assert!(
        m["raw"].as_str().unwrap().contains("=?utf-8?"),
        "encoded words are used"
    );
    assert_eq!(m["content_type"], "multipart/alternative");

    let text = m["parts"]["text/plain"].as_str().expect("a text part");
    assert!(
        text.starts_with("FAILED: caisse-sous-stress-é (staging)"),
        "{text}"
    );
    assert!(text.contains("Why:       test verdict failed"), "{text}");
    assert!(
        text.contains("[FAILED] availability (during): 0.42, expect >= 0.99"),
        "{text}"
    );
    assert!(
        text.contains("[ok] availability (after): 1, expect >= 0.99"),
        "{text}"
    );
    assert!(
        text.contains(
            "[verified] processPause#1 (processPause): 1/1 targets, pid 4242: state T (stopped)"
        ),
        "{text}"
    );
    assert!(
        text.contains("https://faultline.example.org/runs/run-mail-1/report.html"),
        "{text}"
    );

    // minijinja escapes `/` as `&#x2f;` (valid in attributes); undo it to read the link.
    let html = m["parts"]["text/html"]
        .as_str()
        .expect("an HTML part")
        .replace("&#x2f;", "/");
    assert!(
        html.contains("class=\"verdict failed\""),
        "the report's verdict badge"
    );
    assert!(
        html.contains(">FAILED</td>") && html.contains(">held</td>"),
        "the checks table"
    );
    assert!(html.contains("<td>0.42</td>"), "the during value");
    assert!(html.contains("href=\"https://faultline.example.org/runs/run-mail-1/report.html\""));
    let summary = n.finish(Duration::from_secs(5)).await.unwrap();
    assert!(
        summary
            .to_string()
            .starts_with("notifications: 1 sent, 0 failed, 0 pending"),
        "{summary}"
    );
}

#[tokio::test]
async fn smtp_down_when_the_run_ends_the_mail_arrives_after_retries() {
    if !have_aiosmtpd() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // Bound but not listening: the server is down, and comes up on this very socket.
    let (down, port) = closed_port();
    let store = Arc::new(Store::open(&dir.path().join("faultline.db")).unwrap());
    let agent = Arc::new(Agent::open(dir.path().join("agent")).await.unwrap());
    let channels = Channels::new(config(port), Templates::load(None).unwrap()).unwrap();
    let n = Notifier::start(channels, store.clone(), fast());

    // A real run through the engine: its check cannot reach the system (nothing listens
    // on `dead`), so it is not steady before injection and fails — nothing is injected.
    let sleeper = sleeper();
    let (_dead, dead) = closed_port();
    let yaml = format!(
        "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: checkout-mail-retry }}
spec:
  target: {{ local: {{ pid: {} }} }}
  steadyState:
    - name: availability
      http: {{ url: \"http://127.0.0.1:{dead}/\", every: 100ms, timeout: 1s }}
      expect: \">= 0.99\"
  steps:
    - name: pause
      processPause: {{}}
      duration: 1s
  notify: [ {{ email: ops@example.org }} ]
",
        sleeper.pid()
    );
    let exp = load_str(&yaml, "t.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let spec_json = serde_json::to_string(&exp).unwrap();
    store
        .create_run("run-retry", &exp.metadata.name, &spec_json)
        .unwrap();
    let mut opts = RunOptions {
        lease: Duration::from_secs(10),
        ..RunOptions::default()
    };
    opts.observers.push(n.observer());
    let runner = Runner::new(
        store.clone(),
        Injector::InProcess(agent),
        opts,
        "run-retry".into(),
        exp,
    );
    assert_eq!(runner.execute().await, RunState::Failed);

    // Pending with failed attempts while the server is down.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = store.notifications("run-retry").unwrap();
        assert_eq!(
            rows.len(),
            2,
            "the experiment's mailbox and the global route: {rows:?}"
        );
        if rows.iter().all(|r| r.attempts >= 2) {
            assert!(
                rows.iter().all(|r| r.status == NotificationStatus::Pending),
                "{rows:?}"
            );
            assert!(
                rows[0].last_error.contains("SMTP"),
                "{}",
                rows[0].last_error
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no retries while SMTP is down: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let _smtp = smtp_sink(down, out.path());
    let rows = settled(&store, "run-retry").await;
    assert!(
        rows.iter().all(|r| r.status == NotificationStatus::Sent),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.attempts >= 3),
        "sent on a retry: {rows:?}"
    );
    let got = mails(out.path(), 2).await;
    let mut to: Vec<&str> = got.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "ops@example.org",
            "Équipe SRE <sre@example.org>, oncall@example.org"
        ]
    );
    for m in &got {
        assert_eq!(
            m["subject"],
            "[faultline] FAILED checkout-mail-retry (staging)"
        );
        assert!(
            m["parts"]["text/plain"]
                .as_str()
                .unwrap()
                .contains("availability (before)")
        );
    }
    drop(sleeper);
}
