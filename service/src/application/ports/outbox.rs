//! The outbox GitLab's REST writes and notifications share: an entry per run and
//! [`Destination`] is written first (durable before anyone tries to send it), then a
//! worker delivers it with retries. The `notify` adapter runs the worker and sends mail,
//! Slack and webhooks itself; the `gitlab` adapter is the [`DeliveryChannel`] its GitLab
//! entries go through, and queues them through [`Outbox`] — neither imports the other.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use faultline_spec::Channel;

use super::store_error::StoreError;
use crate::application::report::Report;
use crate::domain::RunState;

/// Where one notification goes. Stored in the outbox as JSON, so it holds no secret:
/// those are looked up in the config when sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Destination {
    /// Mail to these addresses.
    Email {
        /// Recipients.
        to: Vec<String>,
    },
    /// A Slack channel, through its configured incoming webhook.
    Slack {
        /// Channel name.
        channel: String,
    },
    /// A signed POST of the JSON report.
    Webhook {
        /// Receiver URL.
        url: String,
    },
    /// The GitLab commit status / MR note, as an experiment's `notify:` or a route asks;
    /// what is actually sent for GitLab-triggered runs are the two below.
    Gitlab,
    /// The run's commit status on the triggering SHA, posted with the run's state at
    /// send time (so a late retry never moves GitLab backwards). `phase` (`running`,
    /// `final`) only keeps the two posts apart in the outbox.
    GitlabStatus {
        /// `running` or `final`.
        phase: String,
    },
    /// The verdict note on the merge request, one per experiment, updated in place.
    GitlabNote,
}

impl Destination {
    /// The channel kind: `email`, `slack`, `webhook`, `gitlab`.
    pub const fn channel(&self) -> &'static str {
        match self {
            Destination::Email { .. } => "email",
            Destination::Slack { .. } => "slack",
            Destination::Webhook { .. } => "webhook",
            Destination::Gitlab | Destination::GitlabStatus { .. } | Destination::GitlabNote => {
                "gitlab"
            }
        }
    }

    /// The outbox key: one notification per run per key.
    pub fn key(&self) -> String {
        match self {
            Destination::Email { to } => {
                let mut to: Vec<String> = to.iter().map(|a| a.to_lowercase()).collect();
                to.sort();
                format!("email:{}", to.join(","))
            }
            Destination::Slack { channel } => format!("slack:{channel}"),
            Destination::Webhook { url } => format!("webhook:{url}"),
            Destination::Gitlab => "gitlab".into(),
            Destination::GitlabStatus { phase } => format!("gitlab-status:{phase}"),
            Destination::GitlabNote => "gitlab-note".into(),
        }
    }

    /// The destination an experiment's `notify:` entry names.
    pub fn from_spec(c: &Channel) -> Destination {
        match c {
            Channel::Slack(channel) => Destination::Slack {
                channel: channel.trim_start_matches('#').to_string(),
            },
            Channel::Email(to) => Destination::Email {
                to: vec![to.clone()],
            },
            Channel::Webhook(url) => Destination::Webhook { url: url.clone() },
            Channel::Gitlab(_) => Destination::Gitlab,
        }
    }
}

/// Why one delivery attempt failed, and whether another attempt can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (connection refused, 5xx, 429); `after` is the receiver's own
    /// Retry-After, when it gave one.
    #[error("{reason}")]
    Retry {
        /// What happened.
        reason: String,
        /// The receiver's Retry-After.
        after: Option<Duration>,
    },
    /// Retrying cannot help (4xx, a rejected address, no settings for the channel).
    #[error("{0}")]
    Permanent(String),
}

/// Queues deliveries for the outbox's worker.
pub trait Outbox: Send + Sync {
    /// Writes one pending entry per destination (deduplicated per run) and wakes the
    /// worker. Returns how many were new.
    fn enqueue(
        &self,
        run: &str,
        verdict: RunState,
        dests: &[Destination],
    ) -> Result<usize, StoreError>;
}

/// A channel the outbox's worker hands entries to that it does not send itself: GitLab's
/// commit statuses and merge-request notes.
pub trait DeliveryChannel: Send + Sync + std::fmt::Debug {
    /// Delivers `dest`'s entry for `report` (`link` points at the report). The error says
    /// whether another attempt can help.
    fn send<'a>(
        &'a self,
        dest: &'a Destination,
        report: &'a Report,
        link: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), SendError>>;
}

/// The longest Retry-After we honour; a receiver asking for more gets our own backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// 2xx is delivered; 429 and 5xx are retried (429 after the receiver's Retry-After);
/// other statuses are permanent (a 404 webhook will not start existing on retry).
pub async fn http_outcome(what: &str, resp: reqwest::Response) -> Result<(), SendError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .filter(|d| *d <= MAX_RETRY_AFTER);
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let reason = format!("{what} answered {status}: {body}");
    if status.as_u16() == 429 || status.is_server_error() {
        Err(SendError::Retry { reason, after })
    } else {
        Err(SendError::Permanent(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_round_trip_through_the_outbox_json() {
        for d in [
            Destination::Email {
                to: vec!["a@x".into()],
            },
            Destination::Webhook {
                url: "https://h".into(),
            },
            Destination::Slack {
                channel: "c".into(),
            },
            Destination::Gitlab,
        ] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(
                serde_json::from_str::<Destination>(&json).unwrap(),
                d,
                "{json}"
            );
        }
    }
}
