//! The SSO config file (`faultline serve --sso-config FILE`): the OIDC provider people
//! sign in with, this service's client there, and which claim values give which role.
//! Read once at start-up; every problem is reported at once with its line and field.
//!
//! ```yaml
//! issuer: https://gitlab.example.org         # {issuer}/.well-known/openid-configuration
//! clientId: 8f1c...                          # the application's ID at the provider
//! clientSecretFile: /run/secrets/oidc-secret # its secret, from a file only (relative: to this file)
//! scopes: [openid, profile, email]           # the default; `openid` is always sent
//! roles:
//!   claim: groups_direct                     # GitLab's ID token lists direct groups here
//!   viewer: [platform]                       # claim values (globs) per role; highest wins
//!   operator: [platform/sre]
//!   admin: [platform/chaos-admins]
//! sessionTtl: 8h                             # how long a sign-in lasts
//! ```

use std::path::Path;
use std::time::Duration;

use faultline_spec::decode::tree::Node;

use super::roles::RoleMap;
use crate::application::config_file::walk::{Walk, join, one_document, read_file};
use crate::application::config_file::{ConfigError, ConfigErrors, Glob};
use crate::application::identity::Role;

/// Default `sessionTtl`: a working day.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Default `scopes`: enough for a name and an email on any provider.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];

/// Everything `--sso-config` says.
#[derive(Clone)]
pub struct SsoConfig {
    /// The provider's issuer URL, exactly as its ID tokens' `iss`.
    pub issuer: String,
    /// This service's client ID at the provider.
    pub client_id: String,
    /// The client secret (from `clientSecretFile`); `None`: a public client (PKCE only).
    pub client_secret: Option<String>,
    /// Scopes asked for; always holds `openid`.
    pub scopes: Vec<String>,
    /// Claim values -> role.
    pub roles: RoleMap,
    /// How long a session lasts.
    pub session_ttl: Duration,
}

impl std::fmt::Debug for SsoConfig {
    // Never print the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

const FIELDS: &[&str] = &[
    "issuer",
    "clientId",
    "clientSecretFile",
    "scopes",
    "roles",
    "sessionTtl",
];

impl SsoConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<SsoConfig, ConfigErrors> {
        let (text, name) = read_file(path, "SSO config")?;
        let base = path.parent().unwrap_or(Path::new("."));
        SsoConfig::parse(&text, &name, base)
    }

    /// Parses and checks `text` (named `file` in errors; relative paths start at `base`).
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<SsoConfig, ConfigErrors> {
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
                message: "the SSO config is empty; it needs `issuer:`, `clientId:` and `roles:`"
                    .into(),
            }]));
        };
        let mut cfg = SsoConfig {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            roles: RoleMap {
                claim: String::new(),
                grants: Vec::new(),
            },
            session_ttl: DEFAULT_SESSION_TTL,
        };
        let fields = w.map(&root, "", FIELDS).unwrap_or_default();
        for (k, v) in &fields {
            match *k {
                "issuer" => {
                    cfg.issuer = w
                        .url(v, "issuer")
                        .map(|u| u.trim_end_matches('/').to_string())
                        .unwrap_or_default()
                }
                "clientId" => cfg.client_id = w.string(v, "clientId").unwrap_or_default(),
                "clientSecretFile" => cfg.client_secret = secret_file(&mut w, v, base),
                "scopes" => {
                    if let Some(mut s) = w.strings(v, "scopes") {
                        if !s.iter().any(|s| s == "openid") {
                            s.insert(0, "openid".into());
                        }
                        cfg.scopes = s;
                    }
                }
                "roles" => {
                    if let Some(m) = role_map(&mut w, v) {
                        cfg.roles = m;
                    }
                }
                "sessionTtl" => {
                    if let Some(d) = w.string(v, "sessionTtl") {
                        match d.parse::<faultline_spec::Duration>() {
                            Ok(d) if d.std() >= Duration::from_secs(60) => {
                                cfg.session_ttl = d.std()
                            }
                            Ok(_) => w.err(v, "sessionTtl", "at least 1m"),
                            Err(e) => w.err(v, "sessionTtl", e.to_string()),
                        }
                    }
                }
                _ => {}
            }
        }
        for (key, why) in [
            (
                "issuer",
                "the provider's issuer URL, e.g. https://gitlab.example.org",
            ),
            (
                "clientId",
                "the application ID the provider gave this service",
            ),
            (
                "roles",
                "which claim values give viewer, operator or admin; without it nobody gets in",
            ),
        ] {
            if !fields.iter().any(|(k, _)| *k == key) {
                w.err(&root, key, format!("missing: {why}"));
            }
        }
        if w.errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(w.errors))
        }
    }
}

/// The secret in the file `v` names (relative to `base`), trailing newline trimmed.
fn secret_file(w: &mut Walk<'_>, v: &Node, base: &Path) -> Option<String> {
    let name = w.string(v, "clientSecretFile")?;
    let path = base.join(&name);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Some(s.trim_end().to_string()),
        Ok(_) => {
            w.err(
                v,
                "clientSecretFile",
                format!("{} is empty", path.display()),
            );
            None
        }
        Err(e) => {
            w.err(
                v,
                "clientSecretFile",
                format!("cannot read {}: {e}", path.display()),
            );
            None
        }
    }
}

fn role_map(w: &mut Walk<'_>, v: &Node) -> Option<RoleMap> {
    let fields = w.map(v, "roles", &["claim", "viewer", "operator", "admin"])?;
    let mut map = RoleMap {
        claim: String::new(),
        grants: Vec::new(),
    };
    for (k, n) in &fields {
        let field = join("roles", k);
        match *k {
            "claim" => map.claim = w.string(n, &field)?,
            role => {
                let role = Role::parse(role).expect("the keys allowed are the roles");
                let values = w.strings(n, &field)?;
                map.grants
                    .push((role, values.into_iter().map(Glob::new).collect()));
            }
        }
    }
    if map.claim.is_empty() {
        w.err(
            v,
            "roles.claim",
            "missing: the ID-token claim to read, e.g. groups",
        );
    }
    if map.grants.is_empty() {
        w.err(
            v,
            "roles",
            "no role listed: give viewer, operator and/or admin with claim values",
        );
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_reads_and_hides_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s3cr3t\n").unwrap();
        let c = SsoConfig::parse(
            "issuer: https://gitlab.example.org/\nclientId: app\nclientSecretFile: secret\nscopes: [profile]\nroles:\n  claim: groups\n  operator: [sre]\nsessionTtl: 1h\n",
            "sso.yaml",
            dir.path(),
        )
        .unwrap();
        assert_eq!(c.issuer, "https://gitlab.example.org");
        assert_eq!(c.client_secret.as_deref(), Some("s3cr3t"));
        assert_eq!(c.scopes, ["openid", "profile"]);
        assert_eq!(c.session_ttl, Duration::from_secs(3600));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn every_problem_is_named_with_its_line_and_field() {
        let e = SsoConfig::parse(
            "issuer: gitlab\nclientSecret: inline\nroles:\n  claim: groups\n  owner: [x]\nsessionTtl: 5s\n",
            "sso.yaml",
            Path::new("/nonexistent"),
        )
        .unwrap_err()
        .to_string();
        for want in [
            "sso.yaml:1",
            "issuer",
            "sso.yaml:2",
            "clientSecret",
            "roles.owner",
            "sessionTtl",
            "clientId",
        ] {
            assert!(e.contains(want), "{want} missing in:\n{e}");
        }
        let e = SsoConfig::parse(
            "issuer: https://i\nclientId: a\nclientSecretFile: nope\nroles: {claim: g, admin: [a]}\n",
            "sso.yaml",
            Path::new("/nonexistent"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("clientSecretFile") && e.contains("/nonexistent/nope"),
            "{e}"
        );
    }
}
