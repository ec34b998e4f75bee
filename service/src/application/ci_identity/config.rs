//! The ID-token config file (`faultline serve --id-token-config FILE`): which GitLab
//! issues the tokens, the audience they must name, and the trust policies. Read once at
//! start-up; every problem is reported at once with its line and field, and a policy that
//! pins no project or group is refused (GitLab's guidance for ID tokens: always bind the
//! project or namespace).
//!
//! ```yaml
//! issuer: https://gitlab.example.org        # keys from {issuer}/.well-known/openid-configuration
//! audience: https://faultline.example.org   # the `aud` jobs request (a list: any of)
//! leeway: 30s                               # clock skew allowed on exp/nbf/iat (max 5m)
//! keysCooldown: 60s                         # an unknown kid refetches the JWKS at most this often
//! policies:
//!   - name: checkout-release
//!     claims: { project_id: "42", ref_protected: "true", ref: "release-*", environment: staging }
//!     experiments: ["checkout-*"]
//!     namespaces: [checkout]
//!     role: operator                        # viewer | operator
//! ```

use std::path::Path;
use std::time::Duration;

use faultline_spec::decode::tree::{Node, Value};

use super::claims::{ANCHOR_CLAIMS, KNOWN_CLAIMS};
use super::policy::TrustPolicy;
use crate::application::config_file::walk::{Walk, join, one_document, read_file};
use crate::application::config_file::{ConfigError, ConfigErrors};
use crate::application::identity::Role;

/// Default `leeway`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest `leeway`: more would keep an expired token alive for long.
const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default `keysCooldown`.
pub const DEFAULT_KEYS_COOLDOWN: Duration = Duration::from_secs(60);

/// Everything `--id-token-config` says.
#[derive(Debug, Clone)]
pub struct IdTokenConfig {
    /// The GitLab instance's URL, exactly as its tokens' `iss`.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audience: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Least time between two JWKS fetches caused by unknown `kid`s.
    pub keys_cooldown: Duration,
    /// The trust policies, in file order.
    pub policies: Vec<TrustPolicy>,
}

impl IdTokenConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<IdTokenConfig, ConfigErrors> {
        let (text, name) = read_file(path, "ID-token config")?;
        IdTokenConfig::parse(&text, &name)
    }

    /// Parses and checks `text` (named `file` in errors).
    pub fn parse(text: &str, file: &str) -> Result<IdTokenConfig, ConfigErrors> {
        let mut w = Walk {
            file,
            errors: Vec::new(),
        };
        let Some(root) = one_document(text, file)? else {
            return Err(ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                line: 1,
                col: 1,
                field: String::new(),
                message:
                    "the ID-token config is empty; it needs `issuer:`, `audience:` and `policies:`"
                        .into(),
            }]));
        };
        let mut cfg = IdTokenConfig {
            issuer: String::new(),
            audience: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            keys_cooldown: DEFAULT_KEYS_COOLDOWN,
            policies: Vec::new(),
        };
        let fields = w
            .map(
                &root,
                "",
                &["issuer", "audience", "leeway", "keysCooldown", "policies"],
            )
            .unwrap_or_default();
        for (k, v) in &fields {
            match *k {
                "issuer" => {
                    cfg.issuer = w
                        .url(v, "issuer")
                        .map(|u| u.trim_end_matches('/').to_string())
                        .unwrap_or_default()
                }
                "audience" => cfg.audience = w.strings(v, "audience").unwrap_or_default(),
                "leeway" => {
                    if let Some(d) = duration(&mut w, v, "leeway") {
                        if d > MAX_LEEWAY {
                            w.err(
                                v,
                                "leeway",
                                "at most 5m: an expired token would stay valid that long",
                            );
                        }
                        cfg.leeway = d;
                    }
                }
                "keysCooldown" => {
                    if let Some(d) = duration(&mut w, v, "keysCooldown") {
                        cfg.keys_cooldown = d;
                    }
                }
                "policies" => match &v.value {
                    Value::Seq(items) if !items.is_empty() => {
                        for (i, n) in items.iter().enumerate() {
                            if let Some(p) = policy(&mut w, n, &format!("policies[{i}]")) {
                                cfg.policies.push(p);
                            }
                        }
                    }
                    _ => w.err(v, "policies", "expected a non-empty list of trust policies"),
                },
                _ => {}
            }
        }
        for (key, why) in [
            (
                "issuer",
                "the GitLab instance's URL, e.g. https://gitlab.example.org",
            ),
            (
                "audience",
                "the `aud` jobs request in `id_tokens:`, e.g. this service's URL",
            ),
            ("policies", "without trust policies no job is admitted"),
        ] {
            if !fields.iter().any(|(k, _)| *k == key) {
                w.err(&root, key, format!("missing: {why}"));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for p in &cfg.policies {
            if names.contains(&p.name.as_str()) {
                w.errors.push(ConfigError {
                    file: file.to_string(),
                    line: p.line,
                    col: 1,
                    field: "policies".into(),
                    message: format!("policy name `{}` is used twice", p.name),
                });
            }
            names.push(&p.name);
        }
        if w.errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(w.errors))
        }
    }
}

fn duration(w: &mut Walk<'_>, v: &Node, field: &str) -> Option<Duration> {
    let text = w.string(v, field)?;
    match text.parse::<faultline_spec::Duration>() {
        Ok(d) => Some(d.std()),
        Err(e) => {
            w.err(v, field, e.to_string());
            None
        }
    }
}

fn policy(w: &mut Walk<'_>, v: &Node, path: &str) -> Option<TrustPolicy> {
    let fields = w.map(
        v,
        path,
        &["name", "claims", "experiments", "namespaces", "role"],
    )?;
    let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, n)| *n);
    let name = match get("name") {
        Some(n) => w.string(n, &join(path, "name")),
        None => {
            w.err(
                v,
                &join(path, "name"),
                "missing: a name for answers and logs",
            );
            None
        }
    };
    // Messages about the whole policy name it, so its line and name point at it.
    let whole = |name: &Option<String>| match name {
        Some(n) => format!("{path} (`{n}`)"),
        None => path.to_string(),
    };
    let claims = match get("claims") {
        Some(n) => claims(w, n, &join(path, "claims")),
        None => None,
    };
    match &claims {
        Some(c) if c.iter().any(|(k, pats)| ANCHOR_CLAIMS.contains(&k.as_str()) && pats.iter().all(|p| !p.contains(['*', '?']))) => {}
        Some(_) | None => w.err(
            v,
            &whole(&name),
            format!(
                "binds no project or group: `claims:` must pin one of {} without wildcards, or any project of the GitLab instance would be admitted",
                ANCHOR_CLAIMS.join(", ")
            ),
        ),
    }
    let mut list = |key: &str, why: &str| match get(key) {
        Some(n) => w.strings(n, &join(path, key)),
        None => {
            w.err(v, &join(path, key), format!("missing: {why}"));
            None
        }
    };
    let experiments = list(
        "experiments",
        "the experiment names (globs) its jobs may start",
    );
    let namespaces = list(
        "namespaces",
        "the namespaces (globs) those experiments may target",
    );
    let role = match get("role") {
        None => Some(Role::Operator),
        Some(n) => {
            let field = join(path, "role");
            match w.string(n, &field).as_deref().map(|r| (r, Role::parse(r))) {
                Some((_, Some(r))) if r <= Role::Operator => Some(r),
                Some((text, _)) => {
                    w.err(
                        n,
                        &field,
                        format!("`{text}`: expected viewer or operator (a CI job is never admin)"),
                    );
                    None
                }
                None => None,
            }
        }
    };
    Some(TrustPolicy {
        name: name?,
        line: v.pos.line,
        claims: claims?,
        experiments: experiments?,
        namespaces: namespaces?,
        role: role?,
    })
}

fn claims(w: &mut Walk<'_>, v: &Node, path: &str) -> Option<Vec<(String, Vec<String>)>> {
    let Value::Map(entries) = &v.value else {
        w.err(
            v,
            path,
            format!("expected a map of claim: value, got {}", v.type_name()),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (k, n) in entries {
        let Some(name) = k.key_text() else {
            w.err(k, path, "claim names must be plain strings");
            ok = false;
            continue;
        };
        let field = join(path, name);
        if !KNOWN_CLAIMS.contains(&name) {
            w.err(
                k,
                &field,
                format!(
                    "not a GitLab ID-token claim; expected one of: {}",
                    KNOWN_CLAIMS.join(", ")
                ),
            );
            ok = false;
            continue;
        }
        match w.strings(n, &field) {
            Some(values) => out.push((name.to_string(), values)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
issuer: https://gitlab.example.org/
audience: https://faultline.example.org
policies:
  - name: checkout-release
    claims: { project_id: 42, ref_protected: \"true\", ref: [\"release-*\", main], environment: staging }
    experiments: [\"checkout-*\"]
    namespaces: [checkout]
    role: operator
";

    #[test]
    fn a_good_file_reads_into_policies() {
        let c = IdTokenConfig::parse(GOOD, "ids.yaml").unwrap();
        assert_eq!(c.issuer, "https://gitlab.example.org");
        assert_eq!(c.audience, ["https://faultline.example.org"]);
        assert_eq!(c.leeway, DEFAULT_LEEWAY);
        let p = &c.policies[0];
        assert_eq!(
            (p.name.as_str(), p.line, p.role),
            ("checkout-release", 4, Role::Operator)
        );
        assert_eq!(
            p.claims[0],
            ("project_id".to_string(), vec!["42".to_string()])
        );
        assert_eq!(p.claims[2].1, ["release-*", "main"]);
    }

    #[test]
    fn a_policy_without_a_project_or_group_is_refused_with_its_line_and_name() {
        let text = GOOD.replace("project_id: 42, ", "");
        let e = IdTokenConfig::parse(&text, "ids.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ids.yaml:4:"), "{e}");
        assert!(
            e.contains("policies[0] (`checkout-release`): binds no project or group"),
            "{e}"
        );
        let wild = GOOD.replace("project_id: 42", "project_id: \"4*\"");
        assert!(
            IdTokenConfig::parse(&wild, "ids.yaml").is_err(),
            "a wildcard pins nothing"
        );
        let fork_safe = GOOD.replace("project_id: 42", "job_project_id: 42");
        assert!(IdTokenConfig::parse(&fork_safe, "ids.yaml").is_ok());
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let text = "issuer: ftp://x\npolicies:\n  - name: p\n    claims: { project_id: 1, projectid: 2 }\n    experiments: [a]\n    role: admin\n";
        let e = IdTokenConfig::parse(text, "f").unwrap_err();
        let all = e.to_string();
        for needle in [
            "f:1:9: issuer",
            "policies[0].claims.projectid: not a GitLab ID-token claim",
            "policies[0].namespaces: missing",
            "policies[0].role: `admin`",
            "audience: missing",
        ] {
            assert!(all.contains(needle), "{needle} in:\n{all}");
        }
    }
}
