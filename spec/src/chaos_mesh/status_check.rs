//! Chaos Mesh `StatusCheck`: the Workflow template (`templateType: StatusCheck` with
//! `statusCheck:` and `abortWithStatusCheck`) and the standalone `kind: StatusCheck`, both
//! imported as one native `check:` step (`crate::status_check`).
//!
//! Mapping: `mode: Synchronous` (Chaos Mesh's default) is `untilDecided`, `Continuous` is
//! `continuous`; `intervalSeconds` (default 10) is `every`, `timeoutSeconds` (default 1)
//! the request's `timeout`; the thresholds keep their defaults (success 1, failure 3);
//! `criteria.statusCode` is `status`; the check's time bound `for` is the earlier of the
//! template's `deadline` and the spec's `duration`. `recordsHistoryLimit` only limits the
//! history a Chaos Mesh object keeps in its status; a run keeps every answer as an event,
//! so it is checked (1..=1000) and has no other effect.

use super::common::{document_schema, pos_of};
use crate::decode::check_step::{headers, status_codes, threshold, url};
use crate::decode::cx::{Cx, Obj, Schema};
use crate::experiment::Step;
use crate::status_check::{self as sc, CheckMode, CheckStep, StatusRequest};
use crate::steady::HttpMethod;
use crate::units::Duration;

/// `http.criteria`.
pub static CRITERIA: Schema = Schema::new(&[("statusCode", None)]);
/// `http`.
pub static HTTP: Schema = Schema::new(&[
    ("url", None),
    ("method", None),
    ("headers", None),
    ("body", None),
    ("criteria", Some(&CRITERIA)),
]);
/// A StatusCheck `spec` (also a workflow template's `statusCheck`).
pub static SPEC: Schema = Schema::new(&[
    ("mode", None),
    ("type", None),
    ("duration", None),
    ("timeoutSeconds", None),
    ("intervalSeconds", None),
    ("failureThreshold", None),
    ("successThreshold", None),
    ("recordsHistoryLimit", None),
    ("http", Some(&HTTP)),
]);
/// The standalone StatusCheck document.
pub static ROOT: Schema = document_schema!(SPEC);

/// Chaos Mesh's modes, in its spelling.
const MODES: [&str; 2] = ["Synchronous", "Continuous"];
/// The status-check types faultline carries out (Chaos Mesh has no other yet).
const TYPES: [&str; 1] = ["HTTP"];
/// Chaos Mesh's default `intervalSeconds`.
const DEFAULT_INTERVAL_SECONDS: i64 = 10;
/// Chaos Mesh's default `timeoutSeconds`.
const DEFAULT_TIMEOUT_SECONDS: i64 = 1;

/// A workflow template of `templateType: StatusCheck`, named `name`, bounded by its
/// `deadline`.
pub fn template(cx: &mut Cx, o: &Obj<'_>, name: &str, deadline: Option<Duration>) -> Option<Step> {
    let abort_run = match o.get("abortWithStatusCheck") {
        Some(n) => cx.boolean(n, &o.at("abortWithStatusCheck")),
        None => Some(false),
    };
    if deadline == Some(Duration::ZERO) {
        cx.err(
            &o.at("deadline"),
            pos_of(o, "deadline"),
            "must be longer than 0s",
        );
        return None;
    }
    let Some(n) = o.get("statusCheck") else {
        cx.missing(o, "statusCheck", "the check: mode, type, http, ...");
        return None;
    };
    let check = cx
        .object(n, &o.at("statusCheck"), &SPEC, |cx, s| {
            spec(cx, s, name, deadline)
        })
        .flatten();
    let mut check = check?;
    check.abort_run = abort_run?;
    Some(Step::Check(check))
}

/// Refuses the StatusCheck fields on a template of another type.
pub fn misplaced(cx: &mut Cx, o: &Obj<'_>, kind: &str) {
    for field in ["statusCheck", "abortWithStatusCheck"] {
        if kind != "StatusCheck"
            && let Some(n) = o.get(field)
        {
            cx.err_hint(
                &o.at(field),
                n.pos,
                format!("`{field}` does not apply to a `{kind}` template"),
                "set `templateType: StatusCheck` or remove it",
            );
        }
    }
}

/// A StatusCheck spec as one check named `name`. Standalone, it has no workflow to abort:
/// a failure fails the verdict.
pub fn spec(cx: &mut Cx, o: &Obj<'_>, name: &str, deadline: Option<Duration>) -> Option<CheckStep> {
    let mode = match o.get("mode") {
        Some(n) => cx.one_of(n, &o.at("mode"), &MODES).map(|m| match m {
            "Continuous" => CheckMode::Continuous,
            _ => CheckMode::UntilDecided,
        }),
        // Chaos Mesh's webhook defaults an empty mode to Synchronous.
        None => Some(CheckMode::UntilDecided),
    };
    let kind_ok = match o.get("type") {
        Some(n) => cx.one_of(n, &o.at("type"), &TYPES).map(|_| ()),
        None => Some(()),
    };
    let duration = match o.get("duration") {
        Some(n) => match cx.parsed::<Duration>(n, &o.at("duration"), "a duration like `30s`") {
            Some(d) if d == Duration::ZERO => {
                cx.err(&o.at("duration"), n.pos, "must be longer than 0s");
                None
            }
            d => d.map(Some),
        },
        None => Some(None),
    };
    let seconds = |cx: &mut Cx, field: &str, default: i64| match o.get(field) {
        Some(n) => cx
            .int(n, &o.at(field), 1, 86_400)
            .map(|s| Duration::from_secs(s as u64)),
        None => Some(Duration::from_secs(default as u64)),
    };
    let every = seconds(cx, "intervalSeconds", DEFAULT_INTERVAL_SECONDS);
    let timeout = seconds(cx, "timeoutSeconds", DEFAULT_TIMEOUT_SECONDS);
    let success = threshold(cx, o, "successThreshold", sc::default_success_threshold());
    let failure = threshold(cx, o, "failureThreshold", sc::default_failure_threshold());
    let history = match o.get("recordsHistoryLimit") {
        Some(n) => cx.int(n, &o.at("recordsHistoryLimit"), 1, 1000).map(|_| ()),
        None => Some(()),
    };
    let http = match o.get("http") {
        Some(n) => cx.object(n, &o.at("http"), &HTTP, http).flatten(),
        None => {
            cx.missing(o, "http", "the request: url, method, criteria.statusCode");
            None
        }
    };
    kind_ok?;
    history?;
    let (mut http, duration) = (http?, duration?);
    http.timeout = timeout?;
    let for_ = match (deadline, duration) {
        (Some(a), Some(b)) => Some(if a.std() <= b.std() { a } else { b }),
        (a, b) => a.or(b),
    };
    Some(CheckStep {
        name: name.to_string(),
        http,
        every: every?,
        mode: mode?,
        for_,
        success_threshold: success?,
        failure_threshold: failure?,
        abort_run: false,
    })
}

fn http(cx: &mut Cx, o: &Obj<'_>) -> Option<StatusRequest> {
    let u = match o.get("url") {
        Some(n) => url(cx, n, &o.at("url")),
        None => {
            cx.missing(o, "url", "the URL to request");
            None
        }
    };
    // Chaos Mesh allows GET and POST only.
    let method = match o.get("method") {
        Some(n) => cx
            .one_of(n, &o.at("method"), &["GET", "POST"])
            .and_then(HttpMethod::parse),
        None => Some(HttpMethod::Get),
    };
    let hdrs = match o.get("headers") {
        Some(n) => headers(cx, n, &o.at("headers")),
        None => Some(Default::default()),
    };
    let body = match o.get("body") {
        Some(n) => cx.string(n, &o.at("body")).map(Some),
        None => Some(None),
    };
    let status = match o.get("criteria") {
        Some(n) => cx
            .object(n, &o.at("criteria"), &CRITERIA, |cx, c| {
                match c.get("statusCode") {
                    Some(s) => status_codes(cx, s, &c.at("statusCode")),
                    None => {
                        cx.missing(
                            c,
                            "statusCode",
                            "`\"200\"` or an inclusive range `\"200-400\"`",
                        );
                        None
                    }
                }
            })
            .flatten(),
        None => {
            cx.missing(o, "criteria", "`criteria: { statusCode: \"200\" }`");
            None
        }
    };
    Some(StatusRequest {
        url: u?,
        method: method?,
        headers: hdrs?,
        body: body?,
        status: status?,
        timeout: sc::default_timeout(),
    })
}
