//! The values node kinds take (`nodeTaint`'s key, value and effect, `zoneOutage`'s zone and
//! label) and their readers. Kubernetes checks a taint's key and value as it checks a
//! label's; the same rules are checked here, before a run, with the field.

use serde::{Deserialize, Serialize};

use crate::decode::cx::Cx;
use crate::decode::tree::Node;
use crate::decode::value::{Read, Words};

/// The node label that names a node's zone, unless a `zoneOutage` says another.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// What a taint does to pods (core/v1 `Taint.effect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    /// New pods without a toleration are not scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node for pods without a toleration.
    PreferNoSchedule,
    /// As `NoSchedule`, and running pods without a toleration are evicted.
    NoExecute,
}

impl TaintEffect {
    /// The API's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

impl Words for TaintEffect {
    const WORDS: &'static [&'static str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

    fn from_word(word: &str) -> Self {
        match word {
            "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
            "NoExecute" => TaintEffect::NoExecute,
            _ => TaintEffect::NoSchedule,
        }
    }
}

/// The label key `zoneOutage` groups nodes by; default [`ZONE_LABEL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZoneLabel(pub String);

impl Default for ZoneLabel {
    fn default() -> Self {
        ZoneLabel(ZONE_LABEL.to_string())
    }
}

impl std::fmt::Display for ZoneLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label (or taint) key: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters, alphanumeric at both ends, `-`, `_`, `.` inside.
pub struct LabelKey;

impl Read for LabelKey {
    type Value = String;
    fn describe() -> String {
        "label key".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let s = cx.nonempty(node, path)?;
        match label_key_problem(&s) {
            None => Some(s),
            Some(why) => {
                cx.err_hint(
                    path,
                    node.pos,
                    format!("`{s}` is not a valid key: {why}"),
                    "write it as a label key, like `chaos` or `faultline.dev/chaos`",
                );
                None
            }
        }
    }
}

/// [`ZoneLabel`], read as a [`LabelKey`].
pub struct ZoneLabelKey;

impl Read for ZoneLabelKey {
    type Value = ZoneLabel;
    fn describe() -> String {
        "label key".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<ZoneLabel> {
        LabelKey::read(cx, node, path).map(ZoneLabel)
    }
}

/// A label (or taint) value: at most 63 characters, alphanumeric at both ends, `-`, `_`,
/// `.` inside; may be empty.
pub struct LabelValue;

impl Read for LabelValue {
    type Value = String;
    fn describe() -> String {
        "label value".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let s = cx.string(node, path)?;
        match name_problem(&s, 63) {
            None => Some(s),
            Some(why) => {
                cx.err(
                    path,
                    node.pos,
                    format!("`{s}` is not a valid label value: {why}"),
                );
                None
            }
        }
    }
}

/// A label value that must not be empty (a zone).
pub struct ZoneName;

impl Read for ZoneName {
    type Value = String;
    fn describe() -> String {
        "label value".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let s = cx.nonempty(node, path)?;
        LabelValue::read(cx, node, path).map(|_| s)
    }
}

/// Why `key` is not a label key, or `None`.
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 {
            return Some("its prefix must be a DNS subdomain of 1 to 253 characters".into());
        }
        let ok = p.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
        if !ok {
            return Some(format!(
                "its prefix `{p}` must be a lower-case DNS subdomain (`example.com`)"
            ));
        }
    }
    if name.is_empty() {
        return Some("the name after the prefix must not be empty".into());
    }
    name_problem(name, 63)
}

/// Why `s` is not a label name or value of at most `max` characters, or `None`.
fn name_problem(s: &str, max: usize) -> Option<String> {
    if s.len() > max {
        return Some(format!("{} characters, at most {max}", s.len()));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some("only letters, digits, `-`, `_` and `.` are allowed".into());
    }
    let ends = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    if !ends(s.chars().next()) || !ends(s.chars().last()) {
        return Some("it must begin and end with a letter or digit".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_follow_the_api_rules() {
        assert_eq!(label_key_problem("chaos"), None);
        assert_eq!(label_key_problem("faultline.dev/chaos"), None);
        assert_eq!(label_key_problem("topology.kubernetes.io/zone"), None);
        assert!(label_key_problem("-bad").is_some());
        assert!(label_key_problem("Upper.Case/x").is_some());
        assert!(label_key_problem("a/").is_some());
        assert!(label_key_problem(&"x".repeat(64)).is_some());
        assert_eq!(name_problem("", 63), None);
    }
}
