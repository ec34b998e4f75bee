//! The preflight veto over HTTP (`veto: { url, timeout, failOpen }`): the run's plan is
//! POSTed as JSON; a 2xx answer with `{"allow": true}` (or no body) lets it go on,
//! `{"allow": false, "reason": "..."}` or any other status refuses it. No answer within
//! the timeout is a [`VetoError`], which the application turns into a refusal unless
//! `failOpen` is set.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;

use crate::application::ports::{PreflightPlan, PreflightVeto, VetoDecision, VetoError};

/// Asks one URL.
#[derive(Clone)]
pub struct HttpVeto {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer {
    allow: bool,
    #[serde(default)]
    reason: Option<String>,
}

impl HttpVeto {
    /// A veto at `url` that must answer within `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<HttpVeto, reqwest::Error> {
        Ok(HttpVeto {
            // The whole answer is bounded in `ask`, so a slow body counts as well.
            client: faultline_exporter::tls_provider::http_client().build()?,
            url: url.to_string(),
            timeout,
        })
    }
}

impl PreflightVeto for HttpVeto {
    fn ask(&self, plan: &PreflightPlan) -> BoxFuture<'static, Result<VetoDecision, VetoError>> {
        let (client, url, timeout) = (self.client.clone(), self.url.clone(), self.timeout);
        let body = serde_json::to_vec(plan).expect("a plan serialises");
        Box::pin(async move {
            let asked = async {
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| VetoError::Unreachable(format!("{url}: {e}")))?;
                let status = res.status();
                let text = res
                    .text()
                    .await
                    .map_err(|e| VetoError::Unreachable(format!("{url}: {e}")))?;
                Ok(decide(status, &text))
            };
            match tokio::time::timeout(timeout, asked).await {
                Ok(answer) => answer.and_then(|decision| decision),
                Err(_) => Err(VetoError::Timeout(timeout)),
            }
        })
    }
}

fn decide(status: reqwest::StatusCode, text: &str) -> Result<VetoDecision, VetoError> {
    // The reason a refusing service gave, cut short: it goes into the run's reason.
    let short = |t: &str| t.trim().chars().take(300).collect::<String>();
    if !status.is_success() {
        let said = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v["reason"].as_str().map(short))
            .unwrap_or_else(|| short(text));
        return Ok(VetoDecision::Deny(if said.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {said}")
        }));
    }
    if text.trim().is_empty() {
        return Ok(VetoDecision::Allow);
    }
    match serde_json::from_str::<Answer>(text) {
        Ok(Answer { allow: true, .. }) => Ok(VetoDecision::Allow),
        Ok(Answer { reason, .. }) => Ok(VetoDecision::Deny(
            reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "refused without a reason".into()),
        )),
        Err(e) => Err(VetoError::Answer(format!(
            "expected {{\"allow\": true|false, \"reason\": ...}}: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn answers_are_read_as_the_docs_say() {
        let ok = StatusCode::OK;
        assert_eq!(decide(ok, ""), Ok(VetoDecision::Allow));
        assert_eq!(decide(ok, r#"{"allow": true}"#), Ok(VetoDecision::Allow));
        assert_eq!(
            decide(ok, r#"{"allow": false, "reason": "incident INC-42 open"}"#),
            Ok(VetoDecision::Deny("incident INC-42 open".into()))
        );
        assert_eq!(
            decide(StatusCode::FORBIDDEN, r#"{"reason": "frozen"}"#),
            Ok(VetoDecision::Deny("HTTP 403 Forbidden: frozen".into()))
        );
        assert_eq!(
            decide(StatusCode::INTERNAL_SERVER_ERROR, ""),
            Ok(VetoDecision::Deny("HTTP 500 Internal Server Error".into()))
        );
        assert!(matches!(decide(ok, "yes"), Err(VetoError::Answer(_))));
    }
}
