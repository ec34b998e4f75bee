//! Reading the notification config file into a [`NotifyConfig`]: a checked walk over its
//! YAML tree that records every problem with its line and field, then the routes whose
//! channel has no settings.

use std::path::Path;

use faultline_spec::Verdict;
use faultline_spec::decode::tree::{Node, ScalarKind, Value};

use super::config::{NotifyConfig, Security, SmtpSettings};
use super::routing::Route;
use crate::application::config_file::walk::{Walk, check_url, join, one_document, read_file};
use crate::application::config_file::{ConfigErrors, Glob};
use crate::application::ports::Destination;

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
