//! The HTTP kinds' values: which requests a fault picks (`match`), which side of the
//! exchange it acts on (`target`), which way the traffic flows (`direction`), and what a
//! replace changes. Matching and the JSON merge-patch are here too (pure), so the spec's
//! checks and the agent's proxy agree on what a rule picks and what a patch does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decode::cx::{Cx, Schema, join};
use crate::decode::tree::{Node, ScalarKind, Value};
use crate::decode::value::{Pct, Read, Words};
use crate::units::Percent;

/// Which connections a fault's proxy sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum HttpDirection {
    /// Requests the target receives on `port` (it is the server).
    #[default]
    Inbound,
    /// Requests the target sends to `port` elsewhere (it is the client).
    Outbound,
}

impl Words for HttpDirection {
    const WORDS: &'static [&'static str] = &["inbound", "outbound"];

    fn from_word(word: &str) -> Self {
        match word {
            "outbound" => HttpDirection::Outbound,
            _ => HttpDirection::Inbound,
        }
    }
}

/// Which half of the exchange a fault acts on (Chaos Mesh `target: Request|Response`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum HttpTarget {
    /// Before the request reaches the server.
    #[default]
    Request,
    /// After the server answered, before the answer reaches the client.
    Response,
}

impl Words for HttpTarget {
    const WORDS: &'static [&'static str] = &["request", "response"];

    fn from_word(word: &str) -> Self {
        match word {
            "response" => HttpTarget::Response,
            _ => HttpTarget::Request,
        }
    }
}

/// Which requests a fault picks; every field given must hold, none given picks all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpMatch {
    /// The method, exactly (`GET`, `POST`); methods are case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path prefix (`/api/`), or a glob when it holds `*` or `?` (`/users/*/orders`);
    /// the query string is not part of the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Headers the request carries with exactly these values (names case-insensitive).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Share of matching requests picked (above 0; default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<Percent>,
}

impl HttpMatch {
    /// Whether a request with `method`, `path` (no query) and headers read through
    /// `header` (a name, lower case, to its value) matches, before `probability`.
    pub fn matches<'a>(
        &self,
        method: &str,
        path: &str,
        header: impl Fn(&str) -> Option<&'a str>,
    ) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.path.as_deref().is_none_or(|p| path_matches(p, path))
            && self
                .headers
                .iter()
                .all(|(k, v)| header(&k.to_ascii_lowercase()) == Some(v.as_str()))
    }

    /// The share of matching requests picked, 0..=1.
    pub fn share(&self) -> f64 {
        self.probability.map_or(1.0, |p| p.value() / 100.0)
    }
}

/// Whether `path` matches `pattern`: a prefix, or a glob when `pattern` holds `*` (any run
/// of characters, `/` too) or `?` (one character).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return path.starts_with(pattern);
    }
    let (g, n) = (pattern.as_bytes(), path.as_bytes());
    // Iterative wildcard match with one backtrack point for the last `*`.
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if gi < g.len() && (g[gi] == b'?' || g[gi] == n[ni]) {
            gi += 1;
            ni += 1;
        } else if gi < g.len() && g[gi] == b'*' {
            star = Some((gi, ni));
            gi += 1;
        } else if let Some((sg, sn)) = star {
            gi = sg + 1;
            ni = sn + 1;
            star = Some((sg, sn + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == b'*')
}

/// What `httpReplace` changes in the request or response it acts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpChanges {
    /// Headers set to these values (added when missing).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The whole body, replaced by this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A JSON merge-patch (RFC 7396) applied to a JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<serde_json::Value>,
}

impl HttpChanges {
    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.body.is_none() && self.patch.is_none()
    }
}

/// Applies the JSON merge-patch `patch` to `target` (RFC 7396 §2): an object merges key
/// by key, `null` removes a key, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    let serde_json::Value::Object(t) = target else {
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
        }
    }
}

/// RFC 9110 `tchar`: what a method or a header name is made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value: visible ASCII, spaces and tabs, no line break.
fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// Reads a map of header names to values, each checked.
fn headers(cx: &mut Cx, node: &Node, path: &str) -> Option<BTreeMap<String, String>> {
    let map = cx.string_map(node, path)?;
    let mut ok = true;
    for (k, v) in &map {
        if !is_token(k) {
            cx.err(
                &join(path, k),
                node.pos,
                format!("`{k}` is not a header name (letters, digits and !#$%&'*+-.^_`|~)"),
            );
            ok = false;
        } else if !is_header_value(v) {
            cx.err(
                &join(path, k),
                node.pos,
                "a header value holds visible characters, spaces and tabs only, no line break",
            );
            ok = false;
        }
    }
    ok.then_some(map)
}

/// The fields of `match`.
pub static MATCH_FIELDS: Schema = Schema::new(&[
    ("method", None),
    ("path", None),
    ("headers", None),
    ("probability", None),
]);

/// Reads `match`.
pub struct MatchReader;

impl Read for MatchReader {
    type Value = HttpMatch;
    fn describe() -> String {
        "map: `method`, `path` (prefix or glob), `headers`, `probability`".into()
    }
    const CHILD: Option<&'static Schema> = Some(&MATCH_FIELDS);

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<HttpMatch> {
        cx.object(node, path, &MATCH_FIELDS, |cx, o| {
            let mut ok = true;
            let mut m = HttpMatch::default();
            if let Some(n) = o.get("method") {
                let p = o.at("method");
                match cx.nonempty(n, &p) {
                    Some(s) if is_token(&s) && s.bytes().any(|b| b.is_ascii_lowercase()) => {
                        cx.err_hint(
                            &p,
                            n.pos,
                            format!("`{s}` is not a method the way clients send it"),
                            format!("methods are case-sensitive: `{}`", s.to_ascii_uppercase()),
                        );
                        ok = false;
                    }
                    Some(s) if is_token(&s) => m.method = Some(s),
                    Some(s) => {
                        cx.err(&p, n.pos, format!("`{s}` is not a method like `GET`"));
                        ok = false;
                    }
                    None => ok = false,
                }
            }
            if let Some(n) = o.get("path") {
                let p = o.at("path");
                match cx.nonempty(n, &p) {
                    Some(s) if s.starts_with('/') && !s.contains(char::is_whitespace) => {
                        m.path = Some(s);
                    }
                    Some(s) => {
                        cx.err_hint(
                            &p,
                            n.pos,
                            format!("`{s}` is not a path: it starts with `/` and has no spaces"),
                            "a prefix like `/api/` or a glob like `/users/*/orders`",
                        );
                        ok = false;
                    }
                    None => ok = false,
                }
            }
            if let Some(n) = o.get("headers") {
                match headers(cx, n, &o.at("headers")) {
                    Some(h) => m.headers = h,
                    None => ok = false,
                }
            }
            if let Some(n) = o.get("probability") {
                let p = o.at("probability");
                match Pct::read(cx, n, &p) {
                    Some(v) if v.value() <= 0.0 => {
                        cx.err_hint(
                            &p,
                            n.pos,
                            "0% never fires: the fault would do nothing",
                            "leave `probability` out for every matching request",
                        );
                        ok = false;
                    }
                    Some(v) => m.probability = Some(v),
                    None => ok = false,
                }
            }
            ok.then_some(m)
        })
        .flatten()
    }
}

/// The fields of `replace`.
pub static REPLACE_FIELDS: Schema =
    Schema::new(&[("headers", None), ("body", None), ("patch", None)]);

/// Reads `replace`.
pub struct ReplaceReader;

impl Read for ReplaceReader {
    type Value = HttpChanges;
    fn describe() -> String {
        "map: `headers`, `body`, `patch` (JSON merge-patch)".into()
    }
    const CHILD: Option<&'static Schema> = Some(&REPLACE_FIELDS);

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<HttpChanges> {
        cx.object(node, path, &REPLACE_FIELDS, |cx, o| {
            let mut ok = true;
            let mut r = HttpChanges::default();
            if let Some(n) = o.get("headers") {
                match headers(cx, n, &o.at("headers")) {
                    Some(h) => r.headers = h,
                    None => ok = false,
                }
            }
            if let Some(n) = o.get("body") {
                match cx.string(n, &o.at("body")) {
                    Some(b) => r.body = Some(b),
                    None => ok = false,
                }
            }
            if let Some(n) = o.get("patch") {
                match patch(cx, n, &o.at("patch")) {
                    Some(v) => r.patch = Some(v),
                    None => ok = false,
                }
            }
            ok.then_some(r)
        })
        .flatten()
    }
}

/// A merge-patch: a map written in the spec, or a string of JSON holding an object.
fn patch(cx: &mut Cx, node: &Node, path: &str) -> Option<serde_json::Value> {
    let value = match &node.value {
        Value::Map(_) => to_json(node),
        Value::Scalar(s) if s.kind == ScalarKind::Str => match serde_json::from_str(&s.raw) {
            Ok(v) => v,
            Err(e) => {
                cx.err(path, node.pos, format!("not JSON: {e}"));
                return None;
            }
        },
        _ => serde_json::Value::Null,
    };
    if !value.is_object() {
        cx.err_hint(
            path,
            node.pos,
            format!(
                "expected a map (a JSON merge-patch), got {}",
                node.type_name()
            ),
            "e.g. `patch: {status: degraded, retry: null}`: keys set, null removes",
        );
        return None;
    }
    Some(value)
}

/// A spec node as JSON.
fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Scalar(s) => match s.kind {
            ScalarKind::Null => J::Null,
            ScalarKind::Bool(b) => J::Bool(b),
            ScalarKind::Int(i) => J::from(i),
            ScalarKind::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            ScalarKind::Str => J::String(s.raw.clone()),
        },
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.key_text().unwrap_or_default().to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// A TCP port, 1..=65535.
pub struct Port;

impl Read for Port {
    type Value = u16;
    fn describe() -> String {
        "port (1..=65535)".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<u16> {
        cx.int(node, path, 1, 65535).map(|p| p as u16)
    }
}

/// An HTTP status a server may answer with, 200..=599.
pub struct StatusCode;

impl Read for StatusCode {
    type Value = u16;
    fn describe() -> String {
        "HTTP status (200..=599)".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<u16> {
        cx.int(node, path, 200, 599).map(|c| c as u16)
    }
}

/// Text, as written.
pub struct Text;

impl Read for Text {
    type Value = String;
    fn describe() -> String {
        "string".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        cx.string(node, path)
    }
}

/// The gRPC status a gRPC client sees for an HTTP `code`, as gRPC maps HTTP statuses
/// (grpc/doc/http-grpc-status-mapping.md): 400 INTERNAL, 401 UNAUTHENTICATED, 403
/// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, else UNKNOWN.
pub const fn grpc_status_for(code: u16) -> u8 {
    match code {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_match_as_prefix_or_glob() {
        assert!(path_matches("/api/", "/api/users"));
        assert!(!path_matches("/api/", "/apix"));
        assert!(path_matches("/users/*/orders", "/users/42/orders"));
        assert!(!path_matches("/users/*/orders", "/users/42/orders/7"));
        assert!(path_matches("/v?/ping", "/v2/ping"));
        assert!(path_matches("*", "/anything"));
    }

    #[test]
    fn a_match_needs_every_given_field() {
        let m = HttpMatch {
            method: Some("GET".into()),
            path: Some("/api".into()),
            headers: [("X-User".to_string(), "7".to_string())].into(),
            probability: None,
        };
        let h = |want: &'static str| move |name: &str| (name == "x-user").then_some(want);
        assert!(m.matches("GET", "/api/x", h("7")));
        assert!(!m.matches("GET", "/api/x", h("8")));
        assert!(!m.matches("POST", "/api/x", h("7")));
        assert!(!m.matches("GET", "/web", h("7")));
        assert!(HttpMatch::default().matches("DELETE", "/", |_| None));
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // RFC 7396 appendix A, a few of its cases.
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": ["b"]});
        merge_patch(&mut t, &json!({"a": "c"}));
        assert_eq!(t, json!({"a": "c"}));
        let mut t = json!(["a", "b"]);
        merge_patch(&mut t, &json!({"a": "b"}));
        assert_eq!(t, json!({"a": "b"}));
    }
}
