//! The serve config file (`faultline serve --config FILE`): one YAML map of the keys in
//! [`KEYS`](super::KEYS); relative paths start at the file's directory. Every problem is
//! reported at once with its line and key. Secrets are never inline: tokens come from the
//! `*File` keys only, so the config file can be world-readable and kept in Git.

use std::path::Path;

use faultline_spec::decode::cx::closest;
use faultline_spec::decode::tree::{Node, Value};

use super::serve::{KEYS, ServeLayer};
use super::value::Raw;
use crate::application::config_file::walk::{one_document, read_file};
use crate::application::config_file::{ConfigError, ConfigErrors};

impl ServeLayer {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<ServeLayer, ConfigErrors> {
        let (text, name) = read_file(path, "serve config")?;
        let base = path.parent().unwrap_or(Path::new("."));
        // An absolute base keeps `stateDir: state` meaning the same after a chdir.
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        ServeLayer::parse(&text, &name, &base)
    }

    /// Parses `text` (named `file` in errors); relative paths are joined onto `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<ServeLayer, ConfigErrors> {
        let mut layer = ServeLayer::default();
        let mut errors = Vec::new();
        let mut err = |node: &Node, field: &str, message: String| {
            errors.push(ConfigError {
                file: file.to_string(),
                line: node.pos.line,
                col: node.pos.col,
                field: field.to_string(),
                message,
            })
        };
        let Some(root) = one_document(text, file)? else {
            // An empty file (or one of comments only) means every default.
            return Ok(layer);
        };
        let Value::Map(entries) = &root.value else {
            err(
                &root,
                "",
                format!("expected a map of settings, got {}", root.type_name()),
            );
            return Err(ConfigErrors(errors));
        };
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in entries {
            let Some(key) = k.key_text() else {
                err(k, "", "keys must be plain names".into());
                continue;
            };
            if seen.contains(&key) {
                err(k, key, "set twice".into());
                continue;
            }
            seen.push(key);
            // `audit`, `windows`, `veto`: maps and lists, read by `super::governance`.
            if super::governance::SECTIONS.contains(&key) {
                continue;
            }
            if !KEYS.contains(&key) {
                err(k, key, unknown(key));
                continue;
            }
            let raw = match &v.value {
                // `key:` with nothing after it leaves the default.
                _ if v.is_null() => continue,
                Value::Scalar(s) => Raw::Text(s.raw.clone()),
                Value::Seq(items) => {
                    let texts: Option<Vec<String>> = items
                        .iter()
                        .map(|n| n.scalar().filter(|_| !n.is_null()).map(|s| s.raw.clone()))
                        .collect();
                    match texts {
                        Some(t) => Raw::List(t),
                        None => {
                            err(v, key, "expected a list of strings".into());
                            continue;
                        }
                    }
                }
                Value::Map(_) => {
                    err(v, key, "expected a value, got a map".into());
                    continue;
                }
            };
            if let Err(why) = layer.set(key, raw, base) {
                err(v, key, why.to_string());
            }
        }
        if errors.is_empty() {
            Ok(layer)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// "unknown key" with the likely intended one; inline secrets get the `*File` key instead.
fn unknown(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    if ["token", "secret", "password"]
        .iter()
        .any(|s| lower.contains(s))
        && !lower.ends_with("file")
    {
        let file_key = KEYS
            .iter()
            .filter(|k| k.ends_with("File"))
            .find(|k| {
                k.to_ascii_lowercase()
                    .starts_with(&lower[..lower.len().min(5)])
            })
            .unwrap_or(&"tokensFile");
        return format!(
            "secrets are not accepted inline; put it in a file and give its path as `{file_key}`"
        );
    }
    match closest(key, KEYS.iter().copied()) {
        Some(near) => format!("unknown key; did you mean `{near}`?"),
        None => format!(
            "unknown key; `faultline config example serve` lists them all: {}",
            KEYS.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServeLayer, ConfigErrors> {
        ServeLayer::parse(text, "serve.yaml", Path::new("/etc/faultline"))
    }

    #[test]
    fn keys_are_read_typed_and_paths_start_at_the_file() {
        let l = parse(
            "listen: 0.0.0.0:9000\nstateDir: state\ntokensFile: /run/tokens\nkubernetes: true\nkubeQps: 20\nprotectNamespaces: [payments, kube-system]\nagentNamespace:\n",
        )
        .unwrap();
        assert_eq!(l.listen.unwrap().to_string(), "0.0.0.0:9000");
        assert_eq!(l.state_dir.unwrap(), Path::new("/etc/faultline/state"));
        assert_eq!(l.tokens_file.unwrap(), Path::new("/run/tokens"));
        assert_eq!((l.kubernetes, l.kube_qps), (Some(true), Some(20.0)));
        assert_eq!(l.protect_namespaces.unwrap(), ["payments", "kube-system"]);
        assert_eq!(l.agent_namespace, None);
        assert_eq!(parse("# only comments\n").unwrap(), ServeLayer::default());
    }

    #[test]
    fn every_bad_key_is_reported_with_its_line() {
        let e = parse(
            "listen: 127.0.0.1:8080\nlisen: x\nkubeQps: fast\nagentPort: 99999\ntoken: abc\ngrafana:\n  url: http://g\nlisten: 127.0.0.1:1\nprometheusUrl: prometheus:9090\n",
        )
        .unwrap_err();
        let lines: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 7, "{lines:#?}");
        assert_eq!(
            lines[0],
            "serve.yaml:2:1: lisen: unknown key; did you mean `listen`?"
        );
        assert!(
            lines[1].starts_with("serve.yaml:3:10: kubeQps: `fast` is not a number"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("serve.yaml:4:12: agentPort:"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("5:1: token: secrets are not accepted inline"),
            "{}",
            lines[3]
        );
        assert!(lines[3].contains("tokensFile"), "{}", lines[3]);
        assert!(
            lines[4].contains("6:1: grafana: unknown key"),
            "{}",
            lines[4]
        );
        assert!(lines[5].contains("8:1: listen: set twice"), "{}", lines[5]);
        assert!(
            lines[6].contains("9:16: prometheusUrl: malformed URL"),
            "{}",
            lines[6]
        );
    }

    #[test]
    fn a_config_that_is_not_a_map_or_not_yaml_says_so() {
        let e = parse("- listen\n").unwrap_err();
        assert!(e.to_string().contains("expected a map of settings"), "{e}");
        let e = parse("listen: [\n").unwrap_err();
        assert!(e.to_string().contains("not YAML"), "{e}");
    }
}
