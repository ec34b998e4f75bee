//! `faultline config example KIND`: the commented example config files, the same ones
//! that are in `examples/config/` (a test parses them, so they cannot rot).

use crate::cli::ConfigKind;

/// `serve --config`.
pub const SERVE: &str = include_str!("../../../examples/config/serve.yaml");
/// `serve --gitlab-config`.
pub const GITLAB: &str = include_str!("../../../examples/config/gitlab.yaml");
/// `--notify-config`.
pub const NOTIFY: &str = include_str!("../../../examples/config/notify.yaml");
/// `serve --id-token-config`.
pub const ID_TOKENS: &str = include_str!("../../../examples/config/id-tokens.yaml");
/// `serve --sso-config`.
pub const SSO: &str = include_str!("../../../examples/config/sso.yaml");

/// Prints the example of `kind`.
pub fn example(kind: ConfigKind) -> u8 {
    print!(
        "{}",
        match kind {
            ConfigKind::Serve => SERVE,
            ConfigKind::Gitlab => GITLAB,
            ConfigKind::Notify => NOTIFY,
            ConfigKind::IdTokens => ID_TOKENS,
            ConfigKind::Sso => SSO,
        }
    );
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets by file or variable cannot resolve here: give them inline instead.
    fn inline(text: &str) -> String {
        text.lines()
            .map(|l| {
                let t = l.trim_start();
                let indent = &l[..l.len() - t.len()];
                for (key, base) in [
                    ("secretEnv:", "secret"),
                    ("secretFile:", "secret"),
                    ("tokenFile:", "token"),
                    ("passwordEnv:", "password"),
                    ("botTokenEnv:", "botToken"),
                ] {
                    if t.starts_with(key) {
                        return format!("{indent}{base}: example-secret-0123456789");
                    }
                }
                l.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_examples_are_valid_configs() {
        let g = faultline::application::gitlab_trigger::GitlabConfig::parse(
            &inline(GITLAB),
            "gitlab.yaml",
        )
        .unwrap();
        assert_eq!(g.rules.len(), 2);
        assert!(g.api.is_some());
        let n = faultline::notify::NotifyConfig::parse(&inline(NOTIFY), "notify.yaml").unwrap();
        assert_eq!(n.routes.len(), 3);
        let ids =
            faultline::application::ci_identity::IdTokenConfig::parse(ID_TOKENS, "id-tokens.yaml")
                .unwrap();
        assert_eq!(ids.policies.len(), 3);
        let base = std::path::Path::new("/etc/faultline");
        let s = faultline::config::ServeLayer::parse(SERVE, "serve.yaml", base).unwrap();
        // The example sets what a production service needs and resolves as it is.
        assert!(s.tokens_file.is_some() && s.listen.is_some() && s.prometheus_url.is_some());
        s.resolve().unwrap();
    }

    #[test]
    fn the_sso_example_is_a_valid_config() {
        // The secret file cannot exist here: the example read as a public client.
        let text: String = SSO
            .lines()
            .filter(|l| !l.starts_with("clientSecretFile:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let c = faultline::application::sso::SsoConfig::parse(
            &text,
            "sso.yaml",
            std::path::Path::new("/etc/faultline"),
        )
        .unwrap();
        assert_eq!(c.roles.claim, "groups_direct");
        assert_eq!(c.roles.grants.len(), 3);
    }

    /// Every key is in the example, commented out or set, so it documents them all.
    #[test]
    fn the_serve_example_shows_every_key() {
        for key in faultline::config::KEYS {
            let shown = SERVE
                .lines()
                .map(|l| l.trim_start_matches(['#', ' ']))
                .any(|l| l.starts_with(&format!("{key}:")));
            assert!(shown, "examples/config/serve.yaml does not show `{key}`");
        }
    }
}
