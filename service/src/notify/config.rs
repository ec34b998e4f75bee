//! The notification config file (`--notify-config FILE`): how to reach each channel
//! (SMTP server, Slack incoming webhooks, the webhook signing secret) and the global
//! routes. Read once at start-up; every problem is reported at once, each with its line
//! and field, before any run starts (`config_read.rs` reads the file).
//!
//! ```yaml
//! reportUrl: https://faultline.example.org/runs/{run}/report.html
//! environment: staging
//! email:
//!   host: smtp.example.org
//!   port: 587
//!   security: starttls          # starttls | tls | none
//!   username: faultline
//!   passwordEnv: SMTP_PASSWORD  # or password / passwordFile
//!   from: "faultline <faultline@example.org>"
//! slack:
//!   webhooks: { team-sre: "https://hooks.slack.com/services/T0/B0/XXXX" }
//!   botTokenEnv: SLACK_BOT_TOKEN  # chat.postMessage for channels without a webhook
//! webhook:
//!   secretEnv: FAULTLINE_WEBHOOK_SECRET   # or secret / secretFile
//! routes:
//!   - email: [sre@example.org]
//!     on: [failed, aborted]
//!     experiments: "checkout-*"
//!     environments: [production]   # the GitLab environment, else `environment:` above
//!   - slack: team-sre
//!   - webhook: https://ci.example.org/faultline
//! ```

use std::collections::BTreeMap;

use super::routing::Route;
use crate::application::ports::Destination;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS (a local relay, tests).
    None,
}

/// SMTP settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub security: Security,
    /// Login, when the server wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// The From mailbox, e.g. `faultline <faultline@example.org>`.
    pub from: String,
}

/// Everything `--notify-config` says.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// Link to a run's report; `{run}` is replaced by the run id.
    pub report_url: Option<String>,
    /// Shown in subjects and headers, e.g. `staging`.
    pub environment: Option<String>,
    /// SMTP, if email is used.
    pub email: Option<SmtpSettings>,
    /// Slack channel name -> incoming-webhook URL.
    pub slack_webhooks: BTreeMap<String, String>,
    /// A Slack bot token (`xoxb-...`, scope `chat:write`): channels without a webhook are
    /// posted to with `chat.postMessage`.
    pub slack_bot_token: Option<String>,
    /// Slack's Web API base; default `https://slack.com/api` (tests point it at a local
    /// server).
    pub slack_api_url: Option<String>,
    /// The secret webhook bodies are signed with.
    pub webhook_secret: Option<String>,
    /// Global routes, in file order.
    pub routes: Vec<Route>,
}

impl NotifyConfig {
    /// What is missing to send to `d`, if anything (names the config field to add).
    pub fn missing_settings(&self, d: &Destination) -> Option<String> {
        match d {
            Destination::Email { .. } if self.email.is_none() => {
                Some("email needs an SMTP server: add `email: { host: ..., from: ... }`".into())
            }
            Destination::Slack { channel }
                if !self.slack_webhooks.contains_key(channel) && self.slack_bot_token.is_none() =>
            {
                Some(format!(
                    "no incoming webhook for Slack channel {channel:?}: add it under `slack.webhooks`, or give `slack.botToken` to post with chat.postMessage"
                ))
            }
            Destination::Webhook { .. } if self.webhook_secret.is_none() => {
                Some("webhooks are signed: add `webhook: { secretEnv: ... }`".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::Verdict;
    use std::path::Path;

    const GOOD: &str = "
reportUrl: https://f.example/runs/{run}/report.html
environment: staging
email:
  host: 127.0.0.1
  port: 2525
  security: none
  from: \"Prüfstand <faultline@example.org>\"
slack:
  webhooks: { team-sre: \"http://127.0.0.1:9/hook\" }
webhook:
  secret: s3cret
routes:
  - email: [a@example.org, b@example.org]
  - slack: team-sre
    on: [passed, failed]
    experiments: \"checkout-*\"
  - webhook: https://ci.example.org/hook
    experiments: [a, \"b*\"]
";

    #[test]
    fn a_full_config_reads_with_defaults() {
        let c = NotifyConfig::parse(GOOD, "n.yaml").unwrap();
        let e = c.email.as_ref().unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.security),
            ("127.0.0.1", 2525, Security::None)
        );
        assert_eq!(c.slack_webhooks["team-sre"], "http://127.0.0.1:9/hook");
        assert_eq!(c.webhook_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.routes.len(), 3);
        assert_eq!(c.routes[0].on, crate::notify::routing::default_verdicts());
        assert_eq!(c.routes[1].on, vec![Verdict::Passed, Verdict::Failed]);
        assert!(c.routes[2].experiments[1].matches("bee"));
        assert_eq!(c.environment.as_deref(), Some("staging"));
    }

    #[test]
    fn every_bad_field_is_named_with_its_line() {
        let bad = "
email:
  port: 99999
  security: ssl
  from: faultline
slack:
  webhooks: { sre: \"not a url\" }
routes:
  - webhook: \"ftp://x/y\"
  - slack: nobody
  - pager: me
  - email: a@x.org
    on: [failed, exploded]
  - {}
";
        let e = NotifyConfig::parse(bad, "n.yaml").unwrap_err();
        let text = e.to_string();
        let want = [
            "n.yaml:3:3: email.host: missing",
            "n.yaml:3:9: email.port: expected a port number",
            "n.yaml:4:13: email.security: unknown value \"ssl\"",
            "n.yaml:5:9: email.from: not a mailbox",
            "n.yaml:7:20: slack.webhooks.sre: malformed URL",
            "n.yaml:9:14: routes[0].webhook: malformed URL \"ftp://x/y\": the scheme must be http or https",
            "n.yaml:11:5: routes[2].pager: unknown field",
            "n.yaml:13:18: routes[3].on[1]: unknown verdict",
            "n.yaml:14:5: routes[4]: give exactly one channel",
            "n.yaml:10:5: routes[1]: no incoming webhook for Slack channel \"nobody\"",
        ];
        for w in want {
            assert!(text.contains(w), "missing {w:?} in:\n{text}");
        }
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        std::fs::write(&f, "from-file\n").unwrap();
        let text = format!("webhook:\n  secretFile: {}\n", f.display());
        let c = NotifyConfig::parse(&text, "n.yaml").unwrap();
        assert_eq!(c.webhook_secret.as_deref(), Some("from-file"));
        let e = NotifyConfig::parse(
            "webhook:\n  secretEnv: FAULTLINE_TEST_UNSET_VAR_9\n",
            "n.yaml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("n.yaml:2:14: webhook.secretEnv: environment variable FAULTLINE_TEST_UNSET_VAR_9 is not set"), "{e}");
        let e =
            NotifyConfig::parse("webhook:\n  secret: a\n  secretFile: b\n", "n.yaml").unwrap_err();
        assert!(
            e.to_string()
                .contains("webhook.secret: give one of secret, secretEnv, secretFile"),
            "{e}"
        );
    }

    #[test]
    fn not_yaml_and_unreadable_files_are_errors_too() {
        let e = NotifyConfig::parse("routes: [", "n.yaml").unwrap_err();
        assert!(e.to_string().starts_with("n.yaml:"), "{e}");
        let e = NotifyConfig::load(Path::new("/nonexistent/fltest-notify.yaml")).unwrap_err();
        assert!(
            e.to_string()
                .contains("cannot read the notification config"),
            "{e}"
        );
    }
}
