//! Slack and webhook notifications against receivers on loopback: the Slack stand-in
//! checks the Block Kit shape Slack documents and answers 500, then 429 with
//! Retry-After, then 200; the webhook receiver verifies the HMAC signature with the
//! shared secret. Also: deduplication, a channel that is down not holding up the others,
//! and a new worker sending what an earlier process left pending.

use std::sync::Arc;
use std::time::Duration;

use faultline::application::ports::Destination;
use faultline::application::ports::NotificationStatus;
use faultline::domain::RunState;
use faultline::notify::{Channels, Notifier, NotifyConfig, Outbox, RetryPolicy, Templates};
use faultline::store::Store;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::notify::{finish_run, settled, spec_with_notify};
use faultline_test_support::fakes::receiver::{Answer, Judge, Receiver, Request};

const SECRET: &str = "shared-secret-ü";

fn fast() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_attempts: 5,
    }
}

fn channels(yaml: &str) -> Channels {
    let cfg = NotifyConfig::parse(yaml, "notify.yaml").unwrap_or_else(|e| panic!("{e}"));
    Channels::new(cfg, Templates::load(None).unwrap()).unwrap()
}

fn bad(why: &str) -> Option<Answer> {
    Some((400, Vec::new(), why.to_string()))
}

/// Slack's incoming-webhook rules for Block Kit, as documented: `text` and `blocks`,
/// known block types, header plain_text ≤ 150 chars, ≤ 10 fields per section, each text
/// object typed and ≤ 2000 chars (3000 for a section's text).
fn slack_judge() -> Judge {
    Box::new(|r: &Request| {
        if r.header("content-type") != Some("application/json") {
            return bad("invalid_payload");
        }
        let Ok(v) = serde_json::from_slice::<Value>(&r.body) else {
            return bad("invalid_payload");
        };
        let text_ok = |t: &Value, max: usize| {
            matches!(t["type"].as_str(), Some("plain_text" | "mrkdwn"))
                && t["text"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty() && s.chars().count() <= max)
        };
        if !v["text"].is_string() {
            return bad("no_text");
        }
        let Some(blocks) = v["blocks"].as_array() else {
            return bad("invalid_blocks");
        };
        for b in blocks {
            let ok = match b["type"].as_str() {
                Some("header") => b["text"]["type"] == "plain_text" && text_ok(&b["text"], 150),
                Some("section") => {
                    let fields_ok = b["fields"].as_array().is_none_or(|f| {
                        !f.is_empty() && f.len() <= 10 && f.iter().all(|t| text_ok(t, 2000))
                    });
                    let has = b.get("text").is_some() || b.get("fields").is_some();
                    has && fields_ok && b.get("text").is_none_or(|t| text_ok(t, 3000))
                }
                Some("divider" | "context" | "actions") => true,
                _ => false,
            };
            if !ok {
                return bad("invalid_blocks");
            }
        }
        None
    })
}

#[tokio::test]
async fn slack_gets_block_kit_and_retries_through_500_and_429() {
    let retry_after = vec![("Retry-After".to_string(), "1".to_string())];
    let slack = Receiver::start(
        vec![
            (500, Vec::new(), "internal_error".into()),
            (429, retry_after, "rate_limited".into()),
        ],
        slack_judge(),
    )
    .await;
    let gone = Receiver::start(vec![(404, Vec::new(), "no_service".into())], slack_judge()).await;
    let ch = channels(&format!(
        "reportUrl: https://f.example/runs/{{run}}
slack:
  webhooks: {{ team-sre: \"{0}/services/T0/B0/x\", gone: \"{1}/x\" }}
routes:
  - slack: team-sre
  - slack: gone
",
        slack.url, gone.url
    ));
    let store = Arc::new(Store::open_in_memory().unwrap());
    let n = Notifier::start(ch, store.clone(), fast());
    finish_run(
        &store,
        &*n.observer(),
        "run-s",
        "checkout <api> & co",
        "{}",
        RunState::Aborted,
    );
    let rows = settled(&store, "run-s").await;
    let by = |k: &str| rows.iter().find(|r| r.route == k).unwrap().clone();
    let sre = by("slack:team-sre");
    assert_eq!(
        (sre.status, sre.attempts),
        (NotificationStatus::Sent, 3),
        "{sre:?}"
    );
    let g = by("slack:gone");
    assert_eq!(
        (g.status, g.attempts),
        (NotificationStatus::Failed, 1),
        "404 is not retried: {g:?}"
    );
    assert!(
        g.last_error.contains("404") && g.last_error.contains("no_service"),
        "{}",
        g.last_error
    );

    let got = slack.got();
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [500, 429, 200],
        "every payload passed the shape check"
    );
    assert_eq!(got[0].path, "/services/T0/B0/x");
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(900),
        "the 429's Retry-After: 1 was honoured (waited {:?})",
        got[2].at - got[1].at
    );
    let v: Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(v["text"], "ABORTED checkout <api> & co");
    let blocks = v["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0]["text"]["text"],
        ":warning: ABORTED checkout <api> & co"
    );
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields[0], "*Experiment*\ncheckout &lt;api&gt; &amp; co",
        "mrkdwn escaped"
    );
    assert_eq!(fields[1], "*Verdict*\nABORTED");
    assert!(
        fields[2].starts_with("*Duration*\n") && fields[2].ends_with(" s"),
        "{}",
        fields[2]
    );
    let checks: Vec<&str> = blocks[3]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            ":white_check_mark: *availability* (before)\n1 vs `&gt;= 0.99`",
            ":x: *availability* (during)\n0.42 vs `&gt;= 0.99`",
            ":white_check_mark: *availability* (after)\n1 vs `&gt;= 0.99`",
        ]
    );
    assert_eq!(blocks[2]["text"]["text"], "*Why:* test verdict aborted");
    assert_eq!(
        blocks[4]["fields"][0]["text"],
        ":white_check_mark: *processPause#1* processPause verified 1/1\npid 4242: state T (stopped)"
    );
    assert_eq!(
        blocks.last().unwrap()["text"]["text"],
        "<https://f.example/runs/run-s|Open the report>"
    );
}

/// Slack's Web API `chat.postMessage` as documented: bearer bot token, JSON with
/// `channel`, `text` and `blocks`; errors come back as HTTP 200 with `{"ok": false}`.
fn post_message_judge() -> Judge {
    let blocks = slack_judge();
    Box::new(move |r: &Request| {
        if r.path != "/api/chat.postMessage" {
            return Some((404, Vec::new(), "unknown_method".into()));
        }
        if r.header("authorization") != Some("Bearer xoxb-test-token") {
            return Some((
                200,
                Vec::new(),
                r#"{"ok":false,"error":"invalid_auth"}"#.into(),
            ));
        }
        let v: Value = serde_json::from_slice(&r.body).ok()?;
        if v["channel"] == "nowhere" {
            return Some((
                200,
                Vec::new(),
                r#"{"ok":false,"error":"channel_not_found"}"#.into(),
            ));
        }
        if !v["channel"].is_string() {
            return Some((
                200,
                Vec::new(),
                r#"{"ok":false,"error":"channel_not_found"}"#.into(),
            ));
        }
        blocks(r)
    })
}

#[tokio::test]
async fn a_bot_token_posts_with_chat_post_message_and_retries_what_slack_calls_transient() {
    let ok = r#"{"ok":true,"channel":"C0123","ts":"1700000000.000100"}"#.to_string();
    let slack = Receiver::start(
        vec![
            (
                200,
                Vec::new(),
                r#"{"ok":false,"error":"ratelimited"}"#.into(),
            ),
            (200, Vec::new(), ok.clone()),
            (200, Vec::new(), ok),
        ],
        post_message_judge(),
    )
    .await;
    let ch = channels(&format!(
        "slack:\n  botToken: xoxb-test-token\n  apiUrl: {}/api\nroutes:\n  - slack: \"#team-sre\"\n  - slack: nowhere\n",
        slack.url
    ));
    let store = Arc::new(Store::open_in_memory().unwrap());
    let n = Notifier::start(ch, store.clone(), fast());
    finish_run(
        &store,
        &*n.observer(),
        "run-b",
        "checkout",
        "{}",
        RunState::Failed,
    );
    let rows = settled(&store, "run-b").await;
    let by = |k: &str| rows.iter().find(|r| r.route == k).unwrap().clone();
    let sre = by("slack:#team-sre");
    assert_eq!(
        (sre.status, sre.attempts),
        (NotificationStatus::Sent, 2),
        "ratelimited is retried: {sre:?}"
    );
    let gone = by("slack:nowhere");
    assert_eq!(
        (gone.status, gone.attempts),
        (NotificationStatus::Failed, 1),
        "{gone:?}"
    );
    assert!(
        gone.last_error.contains("channel_not_found"),
        "{}",
        gone.last_error
    );
    let sent = slack
        .got()
        .into_iter()
        .filter(|r| r.path == "/api/chat.postMessage")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|v| v["channel"] == "#team-sre")
        .unwrap();
    assert_eq!(sent["text"], "FAILED checkout");
    assert!(sent["blocks"].as_array().is_some_and(|b| !b.is_empty()));
}

/// A receiver that checks the signature the way a user's would: recompute the HMAC of
/// the raw body with the shared secret, compare in constant time; 401 if it differs.
fn verifying_judge(secret: &'static str) -> Judge {
    Box::new(move |r: &Request| {
        let sig = r.header("x-faultline-signature")?;
        let Some(hex) = sig.strip_prefix("sha256=") else {
            return Some((401, Vec::new(), "bad scheme".into()));
        };
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&r.body);
        match bytes {
            Some(b) if mac.verify_slice(&b).is_ok() => None,
            _ => Some((401, Vec::new(), "signature mismatch".into())),
        }
    })
}

#[tokio::test]
async fn webhooks_are_signed_and_a_wrong_secret_is_refused_not_retried() {
    let good = Receiver::start(
        vec![(503, Vec::new(), "busy".into())],
        verifying_judge(SECRET),
    )
    .await;
    let other = Receiver::start(Vec::new(), verifying_judge("another secret")).await;
    let ch = channels(&format!(
        "webhook: {{ secret: \"{SECRET}\" }}
routes:
  - webhook: {0}/hook
    on: [passed]
  - webhook: {1}/hook
    on: [passed]
",
        good.url, other.url
    ));
    let store = Arc::new(Store::open_in_memory().unwrap());
    let n = Notifier::start(ch, store.clone(), fast());
    finish_run(
        &store,
        &*n.observer(),
        "run-w",
        "payments",
        "{}",
        RunState::Passed,
    );
    let rows = settled(&store, "run-w").await;
    let ok = rows
        .iter()
        .find(|r| r.route.starts_with(&format!("webhook:{}", good.url)))
        .unwrap();
    assert_eq!(
        (ok.status, ok.attempts),
        (NotificationStatus::Sent, 2),
        "503 then 200: {ok:?}"
    );
    let refused = rows
        .iter()
        .find(|r| r.route.starts_with(&format!("webhook:{}", other.url)))
        .unwrap();
    assert_eq!(refused.status, NotificationStatus::Failed);
    assert!(refused.last_error.contains("401"), "{}", refused.last_error);

    let got = good.got();
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200]);
    let last = &got[1];
    assert_eq!(last.header("x-faultline-event"), Some("run.finished"));
    assert_eq!(
        last.header("x-faultline-delivery"),
        got[0].header("x-faultline-delivery"),
        "the delivery id is stable across retries"
    );
    let report: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(report["schema"], "faultline.dev/report/v1");
    assert_eq!(
        (report["run"].as_str(), report["verdict"].as_str()),
        (Some("run-w"), Some("passed"))
    );
    assert_eq!(report["checks"][1]["last"], 0.42);
    // The fault's verification travels with the verdict.
    let fault = &report["faults"][0];
    assert_eq!(
        (&fault["state"], &fault["coverage"], &fault["evidence"]),
        (
            &json!("verified"),
            &json!("1/1"),
            &json!("state T (stopped)")
        )
    );
    assert_eq!(report["verifications"][0]["verified"], true);
    assert_eq!(other.got().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn one_notification_per_route_and_a_dead_channel_does_not_hold_up_the_others() {
    // Slack accepts the connection and never answers: the webhook must still go out.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}/x", hang.local_addr().unwrap());
    let hook = Receiver::start(Vec::new(), verifying_judge(SECRET)).await;
    let ch = channels(&format!(
        "webhook: {{ secret: \"{SECRET}\" }}
slack:
  webhooks: {{ sre: \"{hang_url}\" }}
routes:
  - slack: sre
  - webhook: {0}/a
",
        hook.url
    ));
    let store = Arc::new(Store::open_in_memory().unwrap());
    let n = Notifier::start(ch, store.clone(), fast());
    let obs = n.observer();
    // The experiment names the same webhook as the global route: still one delivery.
    let spec = spec_with_notify(serde_json::json!([{ "webhook": format!("{}/a", hook.url) }]));
    finish_run(&store, &*obs, "run-d", "exp", &spec, RunState::Failed);
    // The engine observing the end twice (or a retry of the observer) adds nothing.
    let end = faultline::domain::RunEvent::StateChanged {
        to: RunState::Failed,
        reason: String::new(),
    };
    let info = faultline::application::ports::observe::RunInfo {
        id: "run-d".into(),
        experiment: "exp".into(),
        gitlab: None,
    };
    obs.observe(&info, &end, chrono::Utc::now());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = store.notifications("run-d").unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let w = rows.iter().find(|r| r.channel == "webhook").unwrap();
        if w.status == NotificationStatus::Sent {
            let s = rows.iter().find(|r| r.channel == "slack").unwrap();
            assert_eq!(
                s.status,
                NotificationStatus::Pending,
                "slack is still hanging"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook waited for slack: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hook.got().len(), 1);
    drop(hang);
}

#[tokio::test]
async fn a_new_worker_sends_what_a_previous_process_left_pending() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("faultline.db");
    let hook = Receiver::start(Vec::new(), verifying_judge(SECRET)).await;
    let yaml = format!(
        "webhook: {{ secret: \"{SECRET}\" }}\nroutes: [ {{ webhook: \"{}/r\" }} ]\n",
        hook.url
    );
    {
        // The first process queues the notification and dies before any worker runs.
        let store = Arc::new(Store::open(&db).unwrap());
        let outbox = Outbox::new(store.clone(), channels(&yaml), fast());
        store.create_run("run-r", "exp", "{}").unwrap();
        let end = faultline::domain::RunEvent::StateChanged {
            to: RunState::Error,
            reason: "crashed".into(),
        };
        store.record("run-r", &end).unwrap();
        let dest = Destination::Webhook {
            url: format!("{}/r", hook.url),
        };
        assert_eq!(
            outbox.enqueue("run-r", RunState::Error, &[dest]).unwrap(),
            1
        );
    }
    assert!(hook.got().is_empty());
    let store = Arc::new(Store::open(&db).unwrap());
    assert_eq!(store.pending_notifications().unwrap().len(), 1);
    let n = Notifier::start(channels(&yaml), store.clone(), fast());
    let rows = settled(&store, "run-r").await;
    assert_eq!(rows[0].status, NotificationStatus::Sent);
    let got = hook.got();
    assert_eq!(got.len(), 1);
    let report: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        (report["verdict"].as_str(), report["reason"].as_str()),
        (Some("error"), Some("crashed"))
    );
    let summary = n.finish(Duration::from_secs(2)).await.unwrap();
    assert!(summary.pending.is_empty(), "{summary}");
}

#[tokio::test]
async fn finish_gives_up_waiting_and_names_what_is_pending() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    // Nothing listens on port 9 of loopback (discard is not running): connection refused.
    let yaml = format!(
        "webhook: {{ secret: \"{SECRET}\" }}\nroutes: [ {{ webhook: \"http://127.0.0.1:9/x\" }} ]\n"
    );
    let slow = RetryPolicy {
        base: Duration::from_secs(600),
        max_delay: Duration::from_secs(600),
        max_attempts: 5,
    };
    let n = Notifier::start(channels(&yaml), store.clone(), slow);
    finish_run(
        &store,
        &*n.observer(),
        "run-p",
        "exp",
        "{}",
        RunState::Failed,
    );
    let started = std::time::Instant::now();
    let summary = n.finish(Duration::from_secs(20)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "nothing can be due before the deadline: no point waiting"
    );
    assert_eq!(summary.pending.len(), 1);
    let text = summary.to_string();
    assert!(text.contains("0 sent, 0 failed, 1 pending"), "{text}");
    assert!(
        text.contains("pending: run run-p webhook:http://127.0.0.1:9/x (1 attempt(s)"),
        "{text}"
    );
}
