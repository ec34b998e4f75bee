//! A small checked walk over the YAML tree of the notification config: typed reads that
//! record an error with file, line, column and field path instead of stopping, so one
//! pass reports every problem.

use faultline_spec::decode::tree::{Node, ScalarKind, Value, parse};

use super::error::{ConfigError, ConfigErrors};

fn whole_file(file: &str, line: usize, col: usize, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        file: file.to_string(),
        line,
        col,
        field: String::new(),
        message,
    }])
}

/// Reads config file `path`; `what` ("notification config") names it in the error.
/// Returns the text and the name errors use for the file.
pub(crate) fn read_file(
    path: &std::path::Path,
    what: &str,
) -> Result<(String, String), ConfigErrors> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text, name)),
        Err(e) => Err(whole_file(
            &name,
            0,
            0,
            format!("cannot read the {what}: {e}"),
        )),
    }
}

/// The root of `text`'s one YAML document; `None` for an empty file.
pub(crate) fn one_document(text: &str, file: &str) -> Result<Option<Node>, ConfigErrors> {
    let docs = parse(text).map_err(|e| {
        whole_file(
            file,
            e.pos.line,
            e.pos.col,
            format!("not YAML: {}", e.message),
        )
    })?;
    let mut docs = docs.into_iter();
    let first = docs.next();
    if let Some(second) = docs.next() {
        return Err(whole_file(
            file,
            second.pos.line,
            second.pos.col,
            "one document expected; remove the `---`".into(),
        ));
    }
    Ok(first.and_then(|d| d.root))
}

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
                self.err(node, field, why.to_string());
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

/// Why a URL in a config is not an absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Another scheme (`ftp://`, `file://`).
    #[error("malformed URL {0:?}: the scheme must be http or https")]
    Scheme(String),
    /// No host (`http:///x`).
    #[error("malformed URL {0:?}: no host")]
    NoHost(String),
    /// Not a URL at all.
    #[error("malformed URL {url:?}: {reason}")]
    Parse {
        /// The text.
        url: String,
        /// The URL parser's complaint.
        reason: String,
    },
}

/// Whether `s` is an absolute http(s) URL with a host.
pub fn check_url(s: &str) -> Result<(), UrlError> {
    match reqwest::Url::parse(s) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Err(UrlError::Scheme(s.to_string())),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Err(UrlError::NoHost(s.to_string())),
        Ok(_) => Ok(()),
        Err(e) => Err(UrlError::Parse {
            url: s.to_string(),
            reason: e.to_string(),
        }),
    }
}
