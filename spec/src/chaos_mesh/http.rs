//! HTTPChaos: one of `abort: true` (-> `httpReset`), `delay` (-> `httpDelay`),
//! `replace.code` (-> `httpAbort` with `target: response`), `replace.headers` /
//! `replace.body` / `patch` (-> `httpReplace`), for the requests on `port` that `method`,
//! `path` and `request_headers` pick. Chaos Mesh chains several of these in one object;
//! faultline runs one HTTP fault per port at a time, so a combination is refused with a
//! hint to split it. What faultline cannot carry out (rewriting the path, method or
//! query, matching responses by `code` or `response_headers`, `tls` from a Secret: the
//! native `tls` takes files on the node) is refused by name.

use std::collections::BTreeMap;

use super::common::{
    Translated, document_schema, hold_duration, pos_of, target_and_duration, unsupported,
};
use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::target::SELECTOR;
use crate::decode::tree::Node;
use crate::experiment::{FaultStep, Step};
use crate::fault::http::HttpChanges;
use crate::fault::{
    FaultKind, HttpAbort, HttpDelay, HttpDirection, HttpMatch, HttpReplace, HttpReset, HttpTarget,
};
use crate::units::Duration;

/// HTTPChaos `replace`.
pub static REPLACE: Schema = Schema::new(&[
    ("headers", None),
    ("body", None),
    ("code", None),
    ("path", None),
    ("method", None),
    ("queries", None),
]);
/// HTTPChaos `patch`.
pub static PATCH: Schema = Schema::new(&[("headers", None), ("body", None), ("queries", None)]);
/// HTTPChaos `spec`.
pub static SPEC: Schema = Schema::including(
    &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
        ("duration", None),
        ("target", None),
        ("port", None),
        ("path", None),
        ("method", None),
        ("request_headers", None),
        ("code", None),
        ("response_headers", None),
        ("abort", None),
        ("delay", None),
        ("replace", Some(&REPLACE)),
        ("patch", Some(&PATCH)),
        ("tls", None),
    ],
    &[&super::common::REFUSED],
);
/// The HTTPChaos document.
pub static ROOT: Schema = document_schema!(SPEC);

/// What the chaos does, before it becomes a kind.
enum Effect {
    Reset,
    Delay(Duration),
    Code(u16),
    Replace(HttpChanges),
}

/// Translates an HTTPChaos `spec`.
pub fn translate(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Translated> {
    let (tgt, dur) = target_and_duration(cx, o, deadline);
    let side = match o.get("target") {
        Some(n) => cx.one_of(n, &o.at("target"), &["Request", "Response"]),
        None => {
            cx.missing(o, "target", "Request or Response");
            None
        }
    };
    let port = match o.get("port") {
        Some(n) => cx.int(n, &o.at("port"), 1, 65535).map(|p| p as u16),
        None => {
            cx.missing(o, "port", "the TCP port, like `80`");
            None
        }
    };
    let matching = matching(cx, o);
    let mut ok = [
        ("code", "faultline does not match responses by status; drop `code`, or pick by `path`/`method`/`request_headers`"),
        ("response_headers", "faultline does not match responses by their headers; pick by `request_headers`"),
        ("tls", "faultline reads the server's certificate and key from files on the node, not from a Secret: write the step natively with `tls: {certFile, keyFile, caFile}` (docs/chaos-mesh.md)"),
    ]
    .into_iter()
    .fold(true, |ok, (f, why)| unsupported(cx, o, f, why) && ok);
    let effect = effects(cx, o);
    ok &= effect.is_some();
    let (side, port, matching, dur) = (side?, port?, matching?, dur?);
    // Without `duration` Chaos Mesh holds the chaos until the object is deleted; here it
    // holds until the run is aborted, at most `guard.maxDuration`, as NetworkChaos does.
    let d = hold_duration(cx, o, dur)?;
    let effect = effect?;
    if !ok {
        return None;
    }
    let target = if side == "Response" {
        HttpTarget::Response
    } else {
        HttpTarget::Request
    };
    let direction = HttpDirection::Inbound;
    let fault = match effect {
        Effect::Reset => FaultKind::HttpReset(HttpReset {
            port,
            direction,
            matching,
            target,
            tls: None,
        }),
        Effect::Delay(delay) => FaultKind::HttpDelay(HttpDelay {
            port,
            direction,
            matching,
            target,
            delay,
            tls: None,
        }),
        Effect::Code(code) => FaultKind::HttpAbort(HttpAbort {
            port,
            direction,
            matching,
            target: HttpTarget::Response,
            code,
            body: None,
            tls: None,
        }),
        Effect::Replace(replace) => FaultKind::HttpReplace(HttpReplace {
            port,
            direction,
            matching,
            target,
            replace,
            tls: None,
        }),
    };
    let step = Step::Fault(FaultStep {
        name: None,
        fault,
        duration: d,
        until_aborted: d.is_none(),
        verify: crate::verify::Verify::on(),
        target: None,
    });
    Some(Translated { step, target: tgt? })
}

/// `method`, `path`, `request_headers` as a `match`.
fn matching(cx: &mut Cx, o: &Obj<'_>) -> Option<HttpMatch> {
    let mut m = HttpMatch::default();
    let mut ok = true;
    if let Some(n) = o.get("method") {
        match cx.nonempty(n, &o.at("method")) {
            Some(s) => m.method = Some(s),
            None => ok = false,
        }
    }
    if let Some(n) = o.get("path") {
        match cx.nonempty(n, &o.at("path")) {
            // Chaos Mesh's `path: '*'` is every path, which is no path rule here.
            Some(s) if s == "*" => {}
            Some(s) if s.starts_with('/') => m.path = Some(s),
            Some(s) => {
                cx.err(
                    &o.at("path"),
                    n.pos,
                    format!("`{s}` is not a path: it starts with `/` (or is `*`)"),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(n) = o.get("request_headers") {
        match cx.string_map(n, &o.at("request_headers")) {
            Some(h) => m.headers = h,
            None => ok = false,
        }
    }
    ok.then_some(m)
}

/// The one effect the chaos asks for; a combination is refused.
fn effects(cx: &mut Cx, o: &Obj<'_>) -> Option<Effect> {
    let mut found: Vec<(&str, Effect)> = Vec::new();
    let mut ok = true;
    if let Some(n) = o.get("abort") {
        match cx.boolean(n, &o.at("abort")) {
            Some(true) => found.push(("abort", Effect::Reset)),
            Some(false) => {}
            None => ok = false,
        }
    }
    if let Some(n) = o.get("delay") {
        match cx.parsed::<Duration>(n, &o.at("delay"), "a duration like `10s`") {
            Some(d) if d > Duration::ZERO => found.push(("delay", Effect::Delay(d))),
            Some(_) => {}
            None => ok = false,
        }
    }
    let (replace, patch) = (o.get("replace"), o.get("patch"));
    let mut changes = HttpChanges::default();
    if let Some(n) = replace {
        let read = cx.object(n, &o.at("replace"), &REPLACE, |cx, r| {
            replace_fields(cx, r, &mut changes, &mut found)
        });
        ok &= read == Some(true);
    }
    if let Some(n) = patch {
        let read = cx.object(n, &o.at("patch"), &PATCH, |cx, p| {
            patch_fields(cx, p, &mut changes)
        });
        ok &= read == Some(true);
    }
    if !changes.is_empty() {
        found.push(("replace", Effect::Replace(changes)));
    }
    if !ok {
        return None;
    }
    match found.len() {
        0 => {
            cx.err_hint(
                &o.at("abort"),
                o.pos,
                "does nothing: an HTTPChaos needs `abort: true`, `delay`, `replace` or `patch`",
                "e.g. `abort: true` to reset the picked connections",
            );
            None
        }
        1 => found.pop().map(|(_, e)| e),
        _ => {
            let names: Vec<_> = found.iter().map(|(n, _)| format!("`{n}`")).collect();
            cx.err_hint(
                &o.at(found[1].0),
                pos_of(o, found[1].0),
                format!(
                    "combines {}: faultline runs one HTTP fault per port at a time",
                    names.join(" and ")
                ),
                "split it into one HTTPChaos per effect, run one after the other (a Workflow `Serial`)",
            );
            None
        }
    }
}

/// `replace`: `headers`, `body` (base64, as Chaos Mesh takes it), `code`; `path`,
/// `method` and `queries` refused.
fn replace_fields(
    cx: &mut Cx,
    r: &Obj<'_>,
    changes: &mut HttpChanges,
    found: &mut Vec<(&str, Effect)>,
) -> bool {
    let why = "faultline changes headers and bodies, not where a request goes";
    // Every refused field is reported, not just the first.
    let refused = ["path", "method", "queries"]
        .into_iter()
        .filter(|f| !unsupported(cx, r, f, why))
        .count();
    let mut ok = refused == 0;
    if let Some(n) = r.get("headers") {
        match cx.string_map(n, &r.at("headers")) {
            Some(h) => changes.headers.extend(h),
            None => ok = false,
        }
    }
    if let Some(n) = r.get("body") {
        match base64_text(cx, n, &r.at("body")) {
            Some(b) => changes.body = Some(b),
            None => ok = false,
        }
    }
    if let Some(n) = r.get("code") {
        match cx.int(n, &r.at("code"), 200, 599) {
            Some(c) => found.push(("replace.code", Effect::Code(c as u16))),
            None => ok = false,
        }
    }
    ok
}

/// `patch`: `headers` (pairs; set, where Chaos Mesh appends) and `body` (`type: JSON`,
/// `value`: a merge-patch); `queries` refused.
fn patch_fields(cx: &mut Cx, p: &Obj<'_>, changes: &mut HttpChanges) -> bool {
    let mut ok = unsupported(cx, p, "queries", "faultline does not rewrite queries");
    if let Some(n) = p.get("headers") {
        match header_pairs(cx, n, &p.at("headers")) {
            Some(h) => changes.headers.extend(h),
            None => ok = false,
        }
    }
    if let Some(n) = p.get("body") {
        let path = p.at("body");
        let value = match &n.value {
            crate::decode::tree::Value::Map(entries) => {
                let get = |k: &str| {
                    entries
                        .iter()
                        .find(|(key, _)| key.key_text() == Some(k))
                        .map(|(_, v)| v)
                };
                if let Some(t) = get("type")
                    .and_then(Node::scalar)
                    .filter(|t| t.raw != "JSON")
                {
                    cx.err(
                        &format!("{path}.type"),
                        n.pos,
                        format!(
                            "`{}` is not supported: Chaos Mesh patches JSON bodies only",
                            t.raw
                        ),
                    );
                    None
                } else {
                    get("value").and_then(|v| cx.string(v, &format!("{path}.value")))
                }
            }
            _ => {
                cx.expected(&path, n, "a map with `type: JSON` and `value`");
                None
            }
        };
        match value.map(|v| serde_json::from_str::<serde_json::Value>(&v)) {
            Some(Ok(v)) if v.is_object() => changes.patch = Some(v),
            Some(_) => {
                cx.err(
                    &format!("{path}.value"),
                    n.pos,
                    "not a JSON object (a merge-patch)",
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok
}

/// `[[name, value], ...]`.
fn header_pairs(cx: &mut Cx, n: &Node, path: &str) -> Option<BTreeMap<String, String>> {
    let items = cx.list(n, path)?;
    let mut out = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let p = crate::decode::cx::index(path, i);
        let pair = cx.strings(item, &p)?;
        let [k, v] = <[String; 2]>::try_from(pair).ok().or_else(|| {
            cx.err(&p, item.pos, "expected a pair `[name, value]`");
            None
        })?;
        out.insert(k, v);
    }
    Some(out)
}

/// A base64 string decoded to UTF-8 text (`replace.body`, as Chaos Mesh's YAML takes it).
fn base64_text(cx: &mut Cx, n: &Node, path: &str) -> Option<String> {
    let s = cx.string(n, path)?;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok();
    match decoded.and_then(|b| String::from_utf8(b).ok()) {
        Some(t) => Some(t),
        None => {
            cx.err(
                path,
                n.pos,
                "not base64 of UTF-8 text (Chaos Mesh takes `replace.body` base64-encoded)",
            );
            None
        }
    }
}
