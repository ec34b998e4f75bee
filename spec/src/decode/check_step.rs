//! `check:` steps: an HTTP status check decided by consecutive successes or failures
//! (`crate::status_check`). The readers of its parts (URL, status codes, headers,
//! thresholds) are shared with the Chaos Mesh `StatusCheck` import.

use std::collections::BTreeMap;

use super::cx::{Cx, Obj, Schema, index, join};
use super::tree::{Node, Pos, Value};
use crate::experiment::Step;
use crate::status_check::{self as sc, CheckMode, CheckStep, StatusCodes, StatusRequest};
use crate::steady::HttpMethod;
use crate::units::Duration;

/// A check's request fields.
pub static REQUEST: Schema = Schema::new(&[
    ("url", None),
    ("method", None),
    ("headers", None),
    ("body", None),
    ("status", None),
    ("timeout", None),
]);

/// The fields of `check:`.
pub static CHECK_STEP: Schema = Schema::new(&[
    ("name", None),
    ("http", Some(&REQUEST)),
    ("every", None),
    ("mode", None),
    ("for", None),
    ("successThreshold", None),
    ("failureThreshold", None),
    ("abortRun", None),
]);

/// Records a step name, refusing one used before (the steps' shared name list).
pub type ClaimName<'a> = dyn FnMut(&mut Cx, String, &str, Pos) -> Option<String> + 'a;

/// A step whose key is `check`: nothing else may sit beside it.
pub fn check_step(cx: &mut Cx, o: &Obj<'_>, claim: &mut ClaimName<'_>) -> Option<Step> {
    let mut ok = true;
    for (k, key) in o.keys().filter(|(k, _)| *k != "check") {
        cx.err_hint(
            &o.at(k),
            key.pos,
            format!("`{k}` does not apply to a `check` step"),
            "set the check's options inside `check:` (name, http, every, mode, for, successThreshold, failureThreshold, abortRun)",
        );
        ok = false;
    }
    let check = cx
        .object(o.get("check")?, &o.at("check"), &CHECK_STEP, |cx, c| {
            check(cx, c, claim)
        })
        .flatten();
    if ok { check.map(Step::Check) } else { None }
}

fn check(cx: &mut Cx, o: &Obj<'_>, claim: &mut ClaimName<'_>) -> Option<CheckStep> {
    let name = match o.get("name") {
        Some(n) => cx
            .nonempty(n, &o.at("name"))
            .and_then(|s| claim(cx, s, &o.at("name"), n.pos)),
        None => {
            cx.missing(
                o,
                "name",
                "the name the events and the verdict give the check",
            );
            None
        }
    };
    let http = match o.get("http") {
        Some(n) => cx.object(n, &o.at("http"), &REQUEST, request).flatten(),
        None => {
            cx.missing(
                o,
                "http",
                "the request: `{ url: http://..., status: \"200\" }`",
            );
            None
        }
    };
    let every = positive(cx, o, "every").map(|d| d.unwrap_or(sc::default_every()));
    let mode = match o.get("mode") {
        Some(n) => cx
            .one_of(n, &o.at("mode"), &CheckMode::ALL_NAMES)
            .and_then(CheckMode::parse),
        None => Some(CheckMode::default()),
    };
    let for_ = positive(cx, o, "for");
    let success = threshold(cx, o, "successThreshold", sc::default_success_threshold());
    let failure = threshold(cx, o, "failureThreshold", sc::default_failure_threshold());
    let abort_run = match o.get("abortRun") {
        Some(n) => cx.boolean(n, &o.at("abortRun")),
        None => Some(false),
    };
    Some(CheckStep {
        name: name?,
        http: http?,
        every: every?,
        mode: mode?,
        for_: for_?,
        success_threshold: success?,
        failure_threshold: failure?,
        abort_run: abort_run?,
    })
}

fn request(cx: &mut Cx, o: &Obj<'_>) -> Option<StatusRequest> {
    let url = match o.get("url") {
        Some(n) => url(cx, n, &o.at("url")),
        None => {
            cx.missing(o, "url", "the URL to request");
            None
        }
    };
    let method = match o.get("method") {
        Some(n) => cx
            .one_of(n, &o.at("method"), &HttpMethod::ALL_NAMES)
            .and_then(HttpMethod::parse),
        None => Some(HttpMethod::Get),
    };
    let headers = match o.get("headers") {
        Some(n) => headers(cx, n, &o.at("headers")),
        None => Some(BTreeMap::new()),
    };
    let body = match o.get("body") {
        Some(n) => cx.string(n, &o.at("body")).map(Some),
        None => Some(None),
    };
    let status = match o.get("status") {
        Some(n) => status_codes(cx, n, &o.at("status")),
        None => Some(StatusCodes::default()),
    };
    let timeout = positive(cx, o, "timeout").map(|d| d.unwrap_or(sc::default_timeout()));
    Some(StatusRequest {
        url: url?,
        method: method?,
        headers: headers?,
        body: body?,
        status: status?,
        timeout: timeout?,
    })
}

/// An http(s) URL.
pub fn url(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let u = cx.nonempty(node, path)?;
    if u.starts_with("http://") || u.starts_with("https://") {
        Some(u)
    } else {
        cx.err_hint(
            path,
            node.pos,
            format!("`{u}` is not an http(s) URL"),
            "write it like `http://checkout:8080/health`",
        );
        None
    }
}

/// `200` or `"200-400"`: the statuses that count as a success.
pub fn status_codes(cx: &mut Cx, node: &Node, path: &str) -> Option<StatusCodes> {
    let text = cx.string(node, path)?;
    match text.parse::<StatusCodes>() {
        Ok(s) => Some(s),
        Err(why) => {
            cx.err_hint(
                path,
                node.pos,
                format!("`{text}`: {why}"),
                format!("write {}", StatusCodes::SYNTAX),
            );
            None
        }
    }
}

/// Request headers: each name maps to a value or a list of values.
pub fn headers(cx: &mut Cx, node: &Node, path: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let Value::Map(entries) = &node.value else {
        cx.expected(
            path,
            node,
            "a map of header names to a value or a list of values",
        );
        return None;
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in entries {
        let Some(key) = k.key_text() else {
            cx.err(
                path,
                k.pos,
                "a key must be a plain name, not a map or a list",
            );
            ok = false;
            continue;
        };
        let p = join(path, key);
        let values = match &v.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| cx.string(n, &index(&p, i)))
                .collect::<Option<Vec<_>>>(),
            _ => cx.string(v, &p).map(|s| vec![s]),
        };
        match values {
            Some(vs) => {
                out.insert(key.to_string(), vs);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A consecutive-count threshold: a whole number of at least 1.
pub fn threshold(cx: &mut Cx, o: &Obj<'_>, name: &str, default: u32) -> Option<u32> {
    match o.get(name) {
        Some(n) => cx.int(n, &o.at(name), 1, 1_000_000).map(|v| v as u32),
        None => Some(default),
    }
}

/// A duration longer than 0s; `Some(None)` when absent.
fn positive(cx: &mut Cx, o: &Obj<'_>, name: &str) -> Option<Option<Duration>> {
    let Some(n) = o.get(name) else {
        return Some(None);
    };
    let d: Duration = cx.parsed(n, &o.at(name), "a duration like `1s`")?;
    if d == Duration::ZERO {
        cx.err(&o.at(name), n.pos, "must be longer than 0s");
        return None;
    }
    Some(Some(d))
}
