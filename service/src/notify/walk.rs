//! A small checked walk over the YAML tree of the notification config: typed reads that
//! record an error with file, line, column and field path instead of stopping, so one
//! pass reports every problem.

use faultline_agent::spec::decode::tree::{Node, ScalarKind, Value};

use super::error::ConfigError;

pub(crate) struct Walk<'a> {
    pub(crate) file: &'a str,
    pub(crate) errors: Vec<ConfigError>,
}

impl Walk<'_> {
    pub(crate) fn err(&mut self, node: &Node, field: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line: node.pos.line,
            col: node.pos.col,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The map's entries, after checking every key is one of `allowed`.
    pub(crate) fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Vec<(&'n str, &'n Node)>> {
        let Value::Map(entries) = &node.value else {
            self.err(
                node,
                path,
                format!("expected a map, got {}", node.type_name()),
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = k.key_text() else {
                self.err(k, path, "keys must be plain strings");
                continue;
            };
            if !allowed.contains(&name) {
                let field = join(path, name);
                self.err(
                    k,
                    &field,
                    format!("unknown field; expected one of: {}", allowed.join(", ")),
                );
                continue;
            }
            out.push((name, v));
        }
        Some(out)
    }

    pub(crate) fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::Scalar(s) if !matches!(s.kind, ScalarKind::Null) && !s.raw.is_empty() => {
                Some(s.raw.clone())
            }
            _ => {
                self.err(
                    node,
                    field,
                    format!("expected a non-empty string, got {}", node.type_name()),
                );
                None
            }
        }
    }

    pub(crate) fn strings(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, n)| self.string(n, &format!("{field}[{i}]")))
                .collect(),
            Value::Seq(_) => {
                self.err(node, field, "expected at least one entry");
                None
            }
            _ => self.string(node, field).map(|s| vec![s]),
        }
    }

    pub(crate) fn url(&mut self, node: &Node, field: &str) -> Option<String> {
        let s = self.string(node, field)?;
        match check_url(&s) {
            Ok(()) => Some(s),
            Err(why) => {
                self.err(node, field, why);
                None
            }
        }
    }

    /// A secret given inline, by environment variable or by file (`{base}`, `{base}Env`,
    /// `{base}File`): exactly one of them.
    pub(crate) fn secret(
        &mut self,
        parent: &Node,
        path: &str,
        base: &str,
        fields: &[(&str, &Node)],
    ) -> Option<String> {
        let env_key = format!("{base}Env");
        let file_key = format!("{base}File");
        let given: Vec<&(&str, &Node)> = fields
            .iter()
            .filter(|(k, _)| *k == base || *k == env_key || *k == file_key)
            .collect();
        match given.as_slice() {
            [] => None,
            [(k, n)] => {
                let field = join(path, k);
                let v = self.string(n, &field)?;
                if *k == base {
                    Some(v)
                } else if *k == env_key {
                    match std::env::var(&v) {
                        Ok(s) if !s.is_empty() => Some(s),
                        _ => {
                            self.err(n, &field, format!("environment variable {v} is not set"));
                            None
                        }
                    }
                } else {
                    match std::fs::read_to_string(&v) {
                        Ok(s) => Some(s.trim_end().to_string()),
                        Err(e) => {
                            self.err(n, &field, format!("cannot read {v}: {e}"));
                            None
                        }
                    }
                }
            }
            _ => {
                self.err(
                    parent,
                    &join(path, base),
                    format!("give one of {base}, {env_key}, {file_key}"),
                );
                None
            }
        }
    }
}

pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Whether `s` is an absolute http(s) URL with a host.
pub fn check_url(s: &str) -> Result<(), String> {
    match reqwest::Url::parse(s) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Err(format!(
            "malformed URL {s:?}: the scheme must be http or https"
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            Err(format!("malformed URL {s:?}: no host"))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!("malformed URL {s:?}: {e}")),
    }
}
