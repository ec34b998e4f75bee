//! One delivery attempt: build the message for a stored notification and hand it to its
//! channel. Whether a failure is worth retrying is decided here, from the HTTP status or
//! the SMTP reply.

use std::sync::Arc;
use std::time::Duration;

use super::config::NotifyConfig;
use super::email::EmailChannel;
use super::error::NotifyError;
use super::templates::{Message, Templates};
use super::{slack, webhook};
use crate::application::ports::{DeliveryChannel, Destination, SendError};
use crate::application::report::Report;

/// How long one HTTP delivery may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The channels of one config, ready to send.
#[derive(Debug)]
pub struct Channels {
    cfg: NotifyConfig,
    templates: Templates,
    http: reqwest::Client,
    email: Option<EmailChannel>,
    gitlab: Option<Arc<dyn DeliveryChannel>>,
}

impl Channels {
    /// Sets up every configured channel.
    pub fn new(cfg: NotifyConfig, templates: Templates) -> Result<Channels, NotifyError> {
        let http = faultline_exporter::tls_provider::http_client()
            .timeout(HTTP_TIMEOUT)
            .user_agent(concat!("faultline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(NotifyError::HttpClient)?;
        let email = cfg.email.as_ref().map(EmailChannel::new).transpose()?;
        Ok(Channels {
            cfg,
            templates,
            http,
            email,
            gitlab: None,
        })
    }

    /// Adds GitLab's API (the `gitlab` adapter's client), for the commit statuses and MR
    /// notes of GitLab-triggered runs.
    pub fn with_gitlab(mut self, gitlab: impl DeliveryChannel + 'static) -> Channels {
        self.gitlab = Some(Arc::new(gitlab));
        self
    }

    /// The config the channels came from.
    pub fn config(&self) -> &NotifyConfig {
        &self.cfg
    }

    /// The link to run `run`'s report, if the config says where reports live.
    pub fn report_link(&self, run: &str) -> Option<String> {
        self.cfg
            .report_url
            .as_ref()
            .map(|u| u.replace("{run}", run))
    }

    /// Sends `report` to `dest`. `key` identifies the notification (Message-ID,
    /// webhook delivery id) and stays the same across retries.
    pub async fn send(
        &self,
        dest: &Destination,
        report: Report,
        key: &str,
    ) -> Result<(), SendError> {
        if let Some(why) = self.cfg.missing_settings(dest) {
            return Err(SendError::Permanent(why));
        }
        let link = self.report_link(&report.run);
        match dest {
            Destination::Email { to } => {
                let ch = self
                    .email
                    .as_ref()
                    .ok_or_else(|| SendError::Permanent("no SMTP settings".into()))?;
                let m = Message::new(report, link, self.cfg.environment.clone());
                let mail = ch.build(to, &m, &self.templates, key)?;
                ch.send(mail).await
            }
            Destination::Slack { channel } => {
                let m = Message::new(report, link, self.cfg.environment.clone());
                let body = self
                    .templates
                    .slack(&m)
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                // A channel's own incoming webhook wins; the bot token reaches the rest.
                match (
                    self.cfg.slack_webhooks.get(channel),
                    &self.cfg.slack_bot_token,
                ) {
                    (Some(url), _) => slack::send(&self.http, url, &body).await,
                    (None, Some(token)) => {
                        let api = self.cfg.slack_api_url.as_deref().unwrap_or(slack::API);
                        slack::post_message(&self.http, api, token, channel, &body).await
                    }
                    (None, None) => Err(SendError::Permanent(format!(
                        "no webhook for Slack channel {channel} and no bot token"
                    ))),
                }
            }
            Destination::Webhook { url } => {
                let secret = self.cfg.webhook_secret.as_deref().unwrap_or_default();
                let body = serde_json::to_vec(&report)
                    .map_err(|e| SendError::Permanent(format!("serialising the report: {e}")))?;
                webhook::send(&self.http, url, secret.as_bytes(), body, key).await
            }
            // The GitLab integration posts commit statuses and MR notes itself; routing
            // resolves the destination so those routes are filtered the same way.
            Destination::Gitlab => Err(SendError::Permanent(
                "gitlab notifications are sent by the GitLab integration, not by this worker"
                    .into(),
            )),
            Destination::GitlabStatus { .. } | Destination::GitlabNote => {
                let gitlab = self.gitlab.as_ref().ok_or_else(|| {
                    SendError::Permanent(
                        "no GitLab API configured (`api:` in --gitlab-config)".into(),
                    )
                })?;
                gitlab.send(dest, &report, link.as_deref()).await
            }
        }
    }
}
