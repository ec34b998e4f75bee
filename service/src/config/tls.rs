//! The TLS keys of serve (issue 27) that go together: `tlsCert` with `tlsKey`, and the
//! agent side's `agentCa`, `agentClientCert`/`agentClientKey` and `agentServerName`.
//! The files themselves are read when serve starts (`ServerTls::config`,
//! `ClientTls::config`), so their errors name the file.

use super::serve::{ServeLayer, named};

impl ServeLayer {
    /// Every TLS key given without the key it needs.
    pub(super) fn tls_errors(&self, kubernetes: bool) -> Vec<String> {
        let mut errors = Vec::new();
        let mut pair = |a: &str, a_set: bool, b: &str, b_set: bool| {
            if a_set != b_set {
                let (given, missing) = if a_set { (a, b) } else { (b, a) };
                errors.push(format!("{} needs {}", named(given), named(missing)));
            }
        };
        pair(
            "tlsCert",
            self.tls_cert.is_some(),
            "tlsKey",
            self.tls_key.is_some(),
        );
        pair(
            "agentClientCert",
            self.agent_client_cert.is_some(),
            "agentClientKey",
            self.agent_client_key.is_some(),
        );
        let ca = self.agent_ca.is_some();
        for (key, set) in [
            ("agentClientCert", self.agent_client_cert.is_some()),
            ("agentServerName", self.agent_server_name.is_some()),
        ] {
            if set && !ca {
                errors.push(format!("{} needs {}", named(key), named("agentCa")));
            }
        }
        if ca && self.agent_url.is_none() && !kubernetes {
            errors.push(format!(
                "{} needs {} or {}",
                named("agentCa"),
                named("agentUrl"),
                named("kubernetes")
            ));
        }
        if let Some(url) = &self.agent_url {
            let https = url.0.starts_with("https://");
            if ca && !https {
                errors.push(format!(
                    "{} is set, so {} must be an https:// URL, not {}",
                    named("agentCa"),
                    named("agentUrl"),
                    url.0
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::value::Raw;

    use super::*;

    fn layer(pairs: &[(&str, &str)]) -> ServeLayer {
        let mut l = ServeLayer::default();
        for (k, v) in pairs {
            assert!(
                l.set(k, Raw::Text(v.to_string()), Path::new("/base"))
                    .unwrap(),
                "{k}"
            );
        }
        l
    }

    #[test]
    fn tls_keys_that_go_together_are_named() {
        let e = layer(&[
            ("tlsCert", "c"),
            ("agentClientKey", "k"),
            ("agentServerName", "agent"),
            ("agentUrl", "http://10.0.0.5:7150"),
        ])
        .resolve()
        .unwrap_err();
        let text = e.join("\n");
        assert!(
            text.contains("`tlsCert` (env FAULTLINE_TLS_CERT) needs `tlsKey`"),
            "{text}"
        );
        assert!(
            text.contains(
                "`agentClientKey` (env FAULTLINE_AGENT_CLIENT_KEY) needs `agentClientCert`"
            ),
            "{text}"
        );
        assert!(
            text.contains("`agentServerName` (env FAULTLINE_AGENT_SERVER_NAME) needs `agentCa`"),
            "{text}"
        );
        let e = layer(&[("agentCa", "ca.crt"), ("agentUrl", "http://10.0.0.5:7150")])
            .resolve()
            .unwrap_err();
        assert!(
            e[0].contains("must be an https:// URL, not http://10.0.0.5:7150"),
            "{e:?}"
        );
        let e = layer(&[("agentCa", "ca.crt")]).resolve().unwrap_err();
        assert!(e[0].contains("needs `agentUrl`"), "{e:?}");
    }

    #[test]
    fn tls_settings_resolve_with_paths_from_the_base_and_the_cluster_server_name() {
        let c = layer(&[
            ("tlsCert", "tls.crt"),
            ("tlsKey", "tls.key"),
            ("agentCa", "ca.crt"),
            ("agentClientCert", "client.crt"),
            ("agentClientKey", "client.key"),
            ("kubernetes", "true"),
        ])
        .resolve()
        .unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, Path::new("/base/tls.crt"));
        assert_eq!(tls.key, Path::new("/base/tls.key"));
        let agents = c.agent_tls.unwrap();
        assert_eq!(agents.ca, Path::new("/base/ca.crt"));
        assert_eq!(
            agents.identity,
            Some(("/base/client.crt".into(), "/base/client.key".into()))
        );
        assert_eq!(agents.server_name.as_deref(), Some("faultline-agent"));
        let c = layer(&[("agentCa", "ca.crt"), ("agentUrl", "https://node1:7150")])
            .resolve()
            .unwrap();
        assert_eq!(
            c.agent_tls.unwrap().server_name,
            None,
            "the URL's host is checked"
        );
        assert!(ServeLayer::default().resolve().unwrap().tls.is_none());
    }
}
