//! The notification config file (`--notify-config FILE`): how to reach each channel
//! (SMTP server, Slack incoming webhooks, the webhook signing secret) and the global
//! routes. Read once at start-up; every problem is reported at once, each with its line
//! and field, before any run starts.
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
use std::path::Path;

use faultline_spec::Verdict;
use faultline_spec::decode::tree::{Node, ScalarKind, Value};

use crate::application::config_file::walk::{Walk, check_url, join, one_document, read_file};

use super::routing::Route;
use crate::application::config_file::{ConfigErrors, Glob};
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
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<NotifyConfig, ConfigErrors> {
        let (text, name) = read_file(path, "notification config")?;
        NotifyConfig::parse(&text, &name)
    }

    /// Parses and checks the config `text` (named `file` in errors).
    pub fn parse(text: &str, file: &str) -> Result<NotifyConfig, ConfigErrors> {
        let mut w = Walk {
            file,
            errors: Vec::new(),
        };
        let cfg = match one_document(text, file)? {
            Some(root) => read_root(&mut w, &root),
            None => NotifyConfig::default(),
        };
        if w.errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(w.errors))
        }
    }
}

const ROOT: &[&str] = &[
    "reportUrl",
    "environment",
    "email",
    "slack",
    "webhook",
    "routes",
];
const EMAIL: &[&str] = &[
    "host",
    "port",
    "security",
    "username",
    "password",
    "passwordEnv",
    "passwordFile",
    "from",
];
const ROUTE: &[&str] = &[
    "email",
    "slack",
    "webhook",
    "gitlab",
    "on",
    "experiments",
    "environments",
];

fn read_root(w: &mut Walk<'_>, root: &Node) -> NotifyConfig {
    let mut cfg = NotifyConfig::default();
    // Each good route's node, for the cross-check's line numbers.
    let mut route_nodes: Vec<&Node> = Vec::new();
    let Some(fields) = w.map(root, "", ROOT) else {
        return cfg;
    };
    for (k, v) in fields {
        match k {
            "reportUrl" => cfg.report_url = w.string(v, k),
            "environment" => cfg.environment = w.string(v, k),
            "email" => cfg.email = read_email(w, v),
            "slack" => {
                let Some(f) = w.map(
                    v,
                    "slack",
                    &[
                        "webhooks",
                        "botToken",
                        "botTokenEnv",
                        "botTokenFile",
                        "apiUrl",
                    ],
                ) else {
                    continue;
                };
                cfg.slack_bot_token = w.secret(v, "slack", "botToken", &f);
                if let Some((_, u)) = f.iter().find(|(k, _)| *k == "apiUrl")
                    && let Some(u) = w.url(u, "slack.apiUrl")
                {
                    cfg.slack_api_url = Some(u.trim_end_matches('/').to_string());
                }
                for (_, hooks) in f.into_iter().filter(|(k, _)| *k == "webhooks") {
                    let Value::Map(pairs) = &hooks.value else {
                        w.err(
                            hooks,
                            "slack.webhooks",
                            "expected a map: channel name -> incoming-webhook URL",
                        );
                        continue;
                    };
                    for (name, url) in pairs {
                        let Some(name) = name.key_text() else {
                            continue;
                        };
                        let field = format!("slack.webhooks.{name}");
                        if let Some(u) = w.url(url, &field) {
                            cfg.slack_webhooks.insert(name.to_string(), u);
                        }
                    }
                }
            }
            "webhook" => {
                if let Some(f) = w.map(v, "webhook", &["secret", "secretEnv", "secretFile"]) {
                    cfg.webhook_secret = w.secret(v, "webhook", "secret", &f);
                }
            }
            "routes" => {
                let Value::Seq(items) = &v.value else {
                    w.err(
                        v,
                        "routes",
                        format!("expected a list, got {}", v.type_name()),
                    );
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    if let Some(r) = read_route(w, item, i) {
                        cfg.routes.push(r);
                        route_nodes.push(item);
                    }
                }
            }
            _ => unreachable!("w.map only returns allowed keys"),
        }
    }
    if let Some(u) = &cfg.report_url {
        let probe = u.replace("{run}", "r");
        if let Err(why) = check_url(&probe) {
            // The root node's position is the best we have after the fact; find the key.
            let node = key_node(root, "reportUrl").unwrap_or(root);
            w.err(node, "reportUrl", why.to_string());
        }
    }
    cross_check(w, &route_nodes, &cfg);
    cfg
}

fn key_node<'n>(map: &'n Node, key: &str) -> Option<&'n Node> {
    match &map.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.key_text() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn read_email(w: &mut Walk<'_>, node: &Node) -> Option<SmtpSettings> {
    let fields = w.map(node, "email", EMAIL)?;
    let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let host = match get("host") {
        Some(n) => w.string(n, "email.host"),
        None => {
            w.err(node, "email.host", "missing: the SMTP server's host name");
            None
        }
    };
    let security = match get("security") {
        None => Some(Security::StartTls),
        Some(n) => match w.string(n, "email.security").as_deref() {
            Some("starttls") => Some(Security::StartTls),
            Some("tls") => Some(Security::Tls),
            Some("none") => Some(Security::None),
            Some(other) => {
                w.err(
                    n,
                    "email.security",
                    format!("unknown value {other:?}; expected starttls, tls or none"),
                );
                None
            }
            None => None,
        },
    };
    let port = match get("port") {
        None => security.map(|s| if s == Security::Tls { 465 } else { 587 }),
        Some(n) => match n.scalar().map(|s| s.kind) {
            Some(ScalarKind::Int(p)) if (1..=65535).contains(&p) => u16::try_from(p).ok(),
            _ => {
                w.err(n, "email.port", "expected a port number 1-65535");
                None
            }
        },
    };
    let from = match get("from") {
        Some(n) => {
            let f = w.string(n, "email.from");
            if let Some(addr) = &f
                && addr.parse::<lettre::message::Mailbox>().is_err()
            {
                w.err(
                    n,
                    "email.from",
                    format!("not a mailbox: {addr:?} (e.g. \"faultline <faultline@example.org>\")"),
                );
            }
            f
        }
        None => {
            w.err(node, "email.from", "missing: the From address");
            None
        }
    };
    let username = get("username").and_then(|n| w.string(n, "email.username"));
    let password = w.secret(node, "email", "password", &fields);
    if username.is_some() != password.is_some() {
        w.err(node, "email.password", "username and password go together");
    }
    Some(SmtpSettings {
        host: host?,
        port: port?,
        security: security?,
        username,
        password,
        from: from?,
    })
}

fn read_route(w: &mut Walk<'_>, node: &Node, i: usize) -> Option<Route> {
    let path = format!("routes[{i}]");
    let fields = w.map(node, &path, ROUTE)?;
    let mut dest = None;
    let mut on = None;
    let mut experiments = None;
    let mut environments = None;
    let mut channels = 0;
    for (k, v) in &fields {
        let field = join(&path, k);
        match *k {
            "email" => {
                channels += 1;
                dest = w.strings(v, &field).and_then(|to| {
                    for (j, a) in to.iter().enumerate() {
                        if a.parse::<lettre::message::Mailbox>().is_err() {
                            w.err(
                                v,
                                &format!("{field}[{j}]"),
                                format!("not an email address: {a:?}"),
                            );
                            return None;
                        }
                    }
                    Some(Destination::Email { to })
                });
            }
            "slack" => {
                channels += 1;
                dest = w
                    .string(v, &field)
                    .map(|channel| Destination::Slack { channel });
            }
            "webhook" => {
                channels += 1;
                dest = w.url(v, &field).map(|url| Destination::Webhook { url });
            }
            "gitlab" => {
                channels += 1;
                dest = Some(Destination::Gitlab);
            }
            "on" => {
                let items = match &v.value {
                    Value::Seq(items) => items.as_slice(),
                    _ => std::slice::from_ref(*v),
                };
                let mut verdicts = Vec::new();
                for (j, it) in items.iter().enumerate() {
                    let f = format!("{field}[{j}]");
                    match w.string(it, &f).as_deref().map(Verdict::parse) {
                        Some(Some(vd)) => verdicts.push(vd),
                        Some(None) => w.err(
                            it,
                            &f,
                            format!(
                                "unknown verdict; expected one of: {}",
                                Verdict::ALL_NAMES.join(", ")
                            ),
                        ),
                        None => {}
                    }
                }
                on = Some(verdicts);
            }
            "experiments" => {
                experiments = w
                    .strings(v, &field)
                    .map(|g| g.into_iter().map(Glob::new).collect())
            }
            "environments" => {
                environments = w
                    .strings(v, &field)
                    .map(|g| g.into_iter().map(Glob::new).collect())
            }
            _ => unreachable!("w.map only returns allowed keys"),
        }
    }
    if channels != 1 {
        w.err(
            node,
            &path,
            "give exactly one channel: email, slack, webhook or gitlab",
        );
        return None;
    }
    Some(Route {
        source: path,
        destination: dest?,
        on: on.unwrap_or_else(super::routing::default_verdicts),
        experiments: experiments.unwrap_or_default(),
        environments: environments.unwrap_or_default(),
    })
}

/// Routes whose channel has no settings: a Slack channel without a webhook, email
/// without an SMTP server, a webhook without a secret.
fn cross_check(w: &mut Walk<'_>, nodes: &[&Node], cfg: &NotifyConfig) {
    for (r, node) in cfg.routes.iter().zip(nodes) {
        if let Some(why) = cfg.missing_settings(&r.destination) {
            w.err(node, &r.source, why);
        }
    }
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
