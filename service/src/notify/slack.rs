//! Slack through an incoming webhook: POST the Block Kit message; 429 carries a
//! Retry-After that the next attempt honours.

use super::error::SendError;
use super::send::http_outcome;

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
