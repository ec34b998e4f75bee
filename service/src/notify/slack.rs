//! Slack through an incoming webhook, or with a bot token through the Web API's
//! `chat.postMessage`: POST the Block Kit message; 429 carries a Retry-After that the next
//! attempt honours. The Web API answers 200 even for errors (`{"ok": false, "error":
//! "channel_not_found"}`), so its body decides.

use crate::application::ports::outbox::{SendError, http_outcome};

/// Posts `body` to the incoming webhook `url`.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<(), SendError> {
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| SendError::Retry {
            reason: format!("Slack webhook unreachable: {e}"),
            after: None,
        })?;
    http_outcome("Slack", resp).await
}

/// Slack's Web API, when no base is configured.
pub const API: &str = "https://slack.com/api";

/// Errors of `chat.postMessage` that a later attempt may get past.
const TRANSIENT: [&str; 4] = [
    "ratelimited",
    "service_unavailable",
    "internal_error",
    "fatal_error",
];

/// Posts `body` to `channel` with bot `token` through `chat.postMessage` at `api`.
pub async fn post_message(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    channel: &str,
    body: &serde_json::Value,
) -> Result<(), SendError> {
    let mut msg = body.clone();
    if let Some(m) = msg.as_object_mut() {
        m.insert("channel".into(), channel.into());
    }
    let resp = client
        .post(format!("{}/chat.postMessage", api.trim_end_matches('/')))
        .bearer_auth(token)
        .json(&msg)
        .send()
        .await
        .map_err(|e| SendError::Retry {
            reason: format!("Slack API unreachable: {e}"),
            after: None,
        })?;
    if !resp.status().is_success() {
        return http_outcome("Slack chat.postMessage", resp).await;
    }
    let v: serde_json::Value = resp.json().await.map_err(|e| SendError::Retry {
        reason: format!("Slack chat.postMessage answered something that is not JSON: {e}"),
        after: None,
    })?;
    if v["ok"] == true {
        return Ok(());
    }
    let err = v["error"].as_str().unwrap_or("no error given").to_string();
    let reason = format!("Slack chat.postMessage to {channel}: {err}");
    if TRANSIENT.contains(&err.as_str()) {
        Err(SendError::Retry {
            reason,
            after: None,
        })
    } else {
        Err(SendError::Permanent(reason))
    }
}
