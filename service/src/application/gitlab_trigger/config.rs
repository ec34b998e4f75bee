//! The GitLab config file (`faultline serve --gitlab-config FILE`): which projects may
//! call the webhook (each with its secret token), which events run which experiments,
//! and where GitLab's REST API is for commit statuses and merge-request notes. Read once
//! at start-up; every problem is reported at once with its line and field.
//!
//! ```yaml
//! api:
//!   url: https://gitlab.example.org        # statuses and MR notes; omit to only be triggered
//!   tokenFile: /etc/faultline/gitlab-token # or token / tokenEnv: a token with `api` scope
//! projects:
//!   - path: "group/checkout"               # glob over path_with_namespace
//!     secretFile: /etc/faultline/hook-secret   # the webhook's "Secret token"
//! rules:
//!   - name: chaos-after-staging
//!     events: [deployment]                 # push | merge_request | pipeline | job | deployment
//!     status: [success]                    # default: any
//!     projects: ["group/*"]                # default: any configured project
//!     refs: [main]                         # default: any
//!     environments: [staging]              # default: any
//!     experiments: ["checkout-*"]          # catalog names (globs)
//! keepDeliveries: 720h                     # how long a resend is answered, not re-run
//! ```

use std::path::Path;

use faultline_spec::decode::tree::{Node, Value};

use super::hooks::EventKind;
use crate::application::config_file::Glob;
use crate::application::config_file::walk::{Walk, join, one_document, read_file};
use crate::application::config_file::{ConfigError, ConfigErrors};

/// Where GitLab's REST API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// Base URL, e.g. `https://gitlab.example.org` (`/api/v4` is added).
    pub url: String,
    /// Token sent as `PRIVATE-TOKEN`.
    pub token: String,
}

/// A project allowed to call the webhook.
#[derive(Debug, Clone)]
pub struct ProjectAuth {
    /// Pattern over `path_with_namespace`.
    pub path: Glob,
    /// The webhook's secret token (`X-Gitlab-Token`).
    pub secret: String,
}

/// Which events run which experiments.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Shown in answers and logs.
    pub name: String,
    /// Event kinds.
    pub events: Vec<EventKind>,
    /// Statuses (or MR actions); empty = any.
    pub status: Vec<String>,
    /// Project path patterns; empty = any.
    pub projects: Vec<Glob>,
    /// Ref patterns; empty = any.
    pub refs: Vec<Glob>,
    /// Environment patterns; empty = any (an event without an environment then matches).
    pub environments: Vec<Glob>,
    /// Experiment-name patterns over the catalog.
    pub experiments: Vec<Glob>,
}

/// Everything `--gitlab-config` says.
#[derive(Debug, Clone)]
pub struct GitlabConfig {
    /// The REST API, if statuses and notes are to be written.
    pub api: Option<ApiSettings>,
    /// Projects and their secrets, in file order.
    pub projects: Vec<ProjectAuth>,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
    /// How long a recorded delivery is kept: a resend within it is answered as the first
    /// time, not run again (`keepDeliveries`).
    pub keep_deliveries: std::time::Duration,
}

/// Default `keepDeliveries`: 30 days. GitLab retries a failed delivery within minutes and
/// a person resends one from the webhook's recent events, so a month covers both with
/// room, and the table stays a month of deliveries, not every one ever received.
pub const DEFAULT_KEEP_DELIVERIES: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 3600);

/// Shortest `keepDeliveries`: under it, GitLab's own retries could run twice.
const MIN_KEEP_DELIVERIES: std::time::Duration = std::time::Duration::from_secs(3600);

impl Default for GitlabConfig {
    fn default() -> GitlabConfig {
        GitlabConfig {
            api: None,
            projects: Vec::new(),
            rules: Vec::new(),
            keep_deliveries: DEFAULT_KEEP_DELIVERIES,
        }
    }
}

impl GitlabConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<GitlabConfig, ConfigErrors> {
        let (text, name) = read_file(path, "GitLab config")?;
        GitlabConfig::parse(&text, &name)
    }

    /// Parses and checks `text` (named `file` in errors).
    pub fn parse(text: &str, file: &str) -> Result<GitlabConfig, ConfigErrors> {
        let mut w = Walk {
            file,
            errors: Vec::new(),
        };
        let mut cfg = GitlabConfig::default();
        let Some(root) = one_document(text, file)? else {
            return Err(ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                line: 1,
                col: 1,
                field: String::new(),
                message: "the GitLab config is empty; it needs `projects:` and `rules:`".into(),
            }]));
        };
        let root = &root;
        let mut saw_projects = false;
        let mut saw_rules = false;
        for (k, v) in w
            .map(root, "", &["api", "projects", "rules", "keepDeliveries"])
            .unwrap_or_default()
        {
            match k {
                "api" => cfg.api = api(&mut w, v),
                "projects" => {
                    saw_projects = true;
                    for (i, n) in list(&mut w, v, "projects").iter().enumerate() {
                        if let Some(p) = project(&mut w, n, &format!("projects[{i}]")) {
                            cfg.projects.push(p);
                        }
                    }
                }
                "rules" => {
                    saw_rules = true;
                    for (i, n) in list(&mut w, v, "rules").iter().enumerate() {
                        if let Some(r) = rule(&mut w, n, &format!("rules[{i}]")) {
                            cfg.rules.push(r);
                        }
                    }
                }
                "keepDeliveries" => {
                    if let Some(d) = keep_deliveries(&mut w, v) {
                        cfg.keep_deliveries = d;
                    }
                }
                _ => {}
            }
        }
        if !saw_projects {
            w.err(root, "projects", "missing: list the projects allowed to call the webhook, each with its secret token");
        }
        if !saw_rules {
            w.err(
                root,
                "rules",
                "missing: without rules no event runs anything",
            );
        }
        if w.errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(w.errors))
        }
    }
}

fn keep_deliveries(w: &mut Walk<'_>, v: &Node) -> Option<std::time::Duration> {
    let text = w.string(v, "keepDeliveries")?;
    match text.parse::<faultline_spec::Duration>() {
        Ok(d) if d.std() >= MIN_KEEP_DELIVERIES => Some(d.std()),
        Ok(_) => {
            w.err(
                v,
                "keepDeliveries",
                format!("`{text}` is too short: at least 1h, or GitLab's own retries of a delivery could run its experiments twice"),
            );
            None
        }
        Err(e) => {
            w.err(v, "keepDeliveries", format!("{e} (e.g. 720h for 30 days)"));
            None
        }
    }
}

fn list<'n>(w: &mut Walk<'_>, v: &'n Node, field: &str) -> Vec<&'n Node> {
    match &v.value {
        Value::Seq(items) if !items.is_empty() => items.iter().collect(),
        _ => {
            w.err(v, field, "expected a non-empty list");
            Vec::new()
        }
    }
}

fn api(w: &mut Walk<'_>, v: &Node) -> Option<ApiSettings> {
    let fields = w.map(v, "api", &["url", "token", "tokenEnv", "tokenFile"])?;
    let url = match fields.iter().find(|(k, _)| *k == "url") {
        Some((_, n)) => w.url(n, "api.url"),
        None => {
            w.err(
                v,
                "api.url",
                "missing: the GitLab base URL, e.g. https://gitlab.example.org",
            );
            None
        }
    };
    let token = w.secret(v, "api", "token", &fields);
    if token.is_none() && !fields.iter().any(|(k, _)| k.starts_with("token")) {
        w.err(
            v,
            "api.token",
            "missing: give token, tokenEnv or tokenFile (a token with `api` scope)",
        );
    }
    Some(ApiSettings {
        url: url?.trim_end_matches('/').to_string(),
        token: token?,
    })
}

fn project(w: &mut Walk<'_>, v: &Node, path: &str) -> Option<ProjectAuth> {
    let fields = w.map(v, path, &["path", "secret", "secretEnv", "secretFile"])?;
    let glob = match fields.iter().find(|(k, _)| *k == "path") {
        Some((_, n)) => w.string(n, &join(path, "path")).map(Glob::new),
        None => {
            w.err(
                v,
                &join(path, "path"),
                "missing: the project's path, e.g. group/checkout (globs allowed)",
            );
            None
        }
    };
    let secret = w.secret(v, path, "secret", &fields);
    if secret.is_none() && !fields.iter().any(|(k, _)| k.starts_with("secret")) {
        w.err(
            v,
            &join(path, "secret"),
            "missing: the webhook's secret token (secret, secretEnv or secretFile)",
        );
    }
    if let Some(s) = &secret
        && s.len() < 16
    {
        w.err(
            v,
            &join(path, "secret"),
            "too short: use at least 16 characters (GitLab sends it in every request)",
        );
        return None;
    }
    Some(ProjectAuth {
        path: glob?,
        secret: secret?,
    })
}

fn rule(w: &mut Walk<'_>, v: &Node, path: &str) -> Option<Rule> {
    let fields = w.map(
        v,
        path,
        &[
            "name",
            "events",
            "status",
            "projects",
            "refs",
            "environments",
            "experiments",
        ],
    )?;
    let mut r = Rule {
        name: path.to_string(),
        events: Vec::new(),
        status: Vec::new(),
        projects: Vec::new(),
        refs: Vec::new(),
        environments: Vec::new(),
        experiments: Vec::new(),
    };
    let errors_before = w.errors.len();
    for (k, n) in &fields {
        let field = join(path, k);
        let globs = |w: &mut Walk<'_>| {
            w.strings(n, &field)
                .map(|v| v.into_iter().map(Glob::new).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        match *k {
            "name" => r.name = w.string(n, &field).unwrap_or_default(),
            "events" => {
                for (i, e) in w.strings(n, &field).unwrap_or_default().iter().enumerate() {
                    match EventKind::parse(e) {
                        Some(kind) => r.events.push(kind),
                        None => {
                            let names: Vec<&str> =
                                EventKind::ALL.iter().map(|k| k.name()).collect();
                            let at = match &n.value {
                                Value::Seq(items) => items.get(i).unwrap_or(n),
                                _ => n,
                            };
                            w.err(
                                at,
                                &format!("{field}[{i}]"),
                                format!(
                                    "unknown event {e:?}; expected one of: {}",
                                    names.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            "status" => r.status = w.strings(n, &field).unwrap_or_default(),
            "projects" => r.projects = globs(w),
            "refs" => r.refs = globs(w),
            "environments" => r.environments = globs(w),
            "experiments" => r.experiments = globs(w),
            _ => {}
        }
    }
    if !fields.iter().any(|(k, _)| *k == "events") {
        w.err(
            v,
            &join(path, "events"),
            "missing: which event kinds this rule acts on",
        );
    }
    if !fields.iter().any(|(k, _)| *k == "experiments") {
        w.err(
            v,
            &join(path, "experiments"),
            "missing: which experiments (catalog names, globs) to run",
        );
    }
    (w.errors.len() == errors_before).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "api:
  url: https://gitlab.example.org/
  token: glpat-0123456789abcdef
projects:
  - path: group/checkout
    secret: s3cret-s3cret-s3cret
rules:
  - name: staging
    events: [deployment]
    status: [success]
    environments: [staging]
    experiments: [\"checkout-*\"]
";

    #[test]
    fn a_good_config_reads_whole() {
        let c = GitlabConfig::parse(GOOD, "gitlab.yaml").unwrap();
        assert_eq!(c.api.unwrap().url, "https://gitlab.example.org");
        assert_eq!(c.projects.len(), 1);
        assert!(c.projects[0].path.matches("group/checkout"));
        let r = &c.rules[0];
        assert_eq!(r.name, "staging");
        assert_eq!(r.events, [EventKind::Deployment]);
        assert!(r.experiments[0].matches("checkout-under-stress"));
        assert_eq!(c.keep_deliveries, DEFAULT_KEEP_DELIVERIES);
    }

    #[test]
    fn deliveries_are_kept_as_long_as_asked_and_at_least_an_hour() {
        let c = GitlabConfig::parse(&format!("{GOOD}keepDeliveries: 168h\n"), "g.yaml").unwrap();
        assert_eq!(
            c.keep_deliveries,
            std::time::Duration::from_secs(7 * 24 * 3600)
        );
        for (value, want) in [
            (
                "30m",
                "g.yaml:13:17: keepDeliveries: `30m` is too short: at least 1h",
            ),
            (
                "a month",
                "g.yaml:13:17: keepDeliveries: duration `a month`",
            ),
        ] {
            let e = GitlabConfig::parse(&format!("{GOOD}keepDeliveries: {value}\n"), "g.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{value}: missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let bad = GOOD
            .replace("[deployment]", "[deploy]")
            .replace("secret: s3cret-s3cret-s3cret", "secret: short")
            .replace("url: https://gitlab.example.org/", "url: gitlab")
            .replace("    environments:", "    environment:");
        let e = GitlabConfig::parse(&bad, "gitlab.yaml").unwrap_err();
        let text = e.to_string();
        for want in [
            "gitlab.yaml:2:8: api.url: malformed URL",
            "projects[0].secret: too short",
            "gitlab.yaml:9:14: rules[0].events[0]: unknown event \"deploy\"",
            "rules[0].environment: unknown field",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn missing_sections_and_empty_files_are_refused() {
        let e = GitlabConfig::parse("api:\n  url: https://g.example.org\n  token: t\n", "g.yaml")
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("projects: missing"), "{text}");
        assert!(text.contains("rules: missing"), "{text}");
        assert!(GitlabConfig::parse("", "g.yaml").is_err());
        let e = GitlabConfig::parse("rules:\n  - events: [push]\n", "g.yaml").unwrap_err();
        assert!(
            e.to_string().contains("rules[0].experiments: missing"),
            "{e}"
        );
    }
}
