//! `steadyState`: checks with a Prometheus query or an HTTP probe and a typed `expect`.

use super::cx::{Cx, Obj, Schema, index};
use super::tree::Node;
use crate::steady::*;
use crate::units::Duration;

/// An HTTP probe's fields.
pub static HTTP: Schema = Schema::new(&[
    ("url", None),
    ("method", None),
    ("status", None),
    ("bodyContains", None),
    ("every", None),
    ("timeout", None),
]);

/// One check's fields.
pub static CHECK: Schema = Schema::new(&[
    ("name", None),
    ("prometheus", None),
    ("http", Some(&HTTP)),
    ("expect", None),
    ("phases", None),
    ("abortBelow", None),
    ("abortAbove", None),
    ("recoveryWithin", None),
    ("compare", Some(&super::compare::COMPARE)),
]);

/// Reads the `steadyState` list.
pub fn checks(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<SteadyCheck>> {
    let items = cx.list(node, path)?;
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        match cx
            .object(item, &p, &CHECK, |cx, o| check(cx, o, &mut names))
            .flatten()
        {
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn positive(cx: &mut Cx, o: &Obj<'_>, name: &str, default: Duration) -> Option<Duration> {
    let Some(n) = o.get(name) else {
        return Some(default);
    };
    let d: Duration = cx.parsed(n, &o.at(name), "a duration like `1s`")?;
    if d == Duration::ZERO {
        cx.err(&o.at(name), n.pos, "must be longer than 0s");
        return None;
    }
    Some(d)
}

fn http(cx: &mut Cx, node: &Node, path: &str) -> Option<HttpProbe> {
    cx.object(node, path, &HTTP, |cx, o| {
        let url = match o.get("url") {
            Some(n) => cx.nonempty(n, &o.at("url")).and_then(|u| {
                if u.starts_with("http://") || u.starts_with("https://") {
                    Some(u)
                } else {
                    cx.err_hint(
                        &o.at("url"),
                        n.pos,
                        format!("`{u}` is not an http(s) URL"),
                        "write it like `http://checkout:8080/health`",
                    );
                    None
                }
            }),
            None => {
                cx.missing(o, "url", "the URL to probe");
                None
            }
        };
        let method = match o.get("method") {
            Some(n) => cx
                .one_of(n, &o.at("method"), &HttpMethod::ALL_NAMES)
                .and_then(HttpMethod::parse),
            None => Some(HttpMethod::Get),
        };
        let status = match o.get("status") {
            Some(n) => cx.int(n, &o.at("status"), 100, 599).map(|s| s as u16),
            None => Some(default_status()),
        };
        let body_contains = match o.get("bodyContains") {
            Some(n) => cx.string(n, &o.at("bodyContains")).map(Some),
            None => Some(None),
        };
        let every = positive(cx, o, "every", default_every());
        let timeout = positive(cx, o, "timeout", default_timeout());
        Some(HttpProbe {
            url: url?,
            method: method?,
            status: status?,
            body_contains: body_contains?,
            every: every?,
            timeout: timeout?,
        })
    })
    .flatten()
}

fn check(cx: &mut Cx, o: &Obj<'_>, names: &mut Vec<String>) -> Option<SteadyCheck> {
    let errors_before = cx.errors.len();
    let name = match o.get("name") {
        Some(n) => cx.nonempty(n, &o.at("name")).and_then(|s| {
            if names.contains(&s) {
                cx.err(
                    &o.at("name"),
                    n.pos,
                    format!("check name `{s}` is used twice; names must be unique"),
                );
                return None;
            }
            names.push(s.clone());
            Some(s)
        }),
        None => {
            cx.missing(o, "name", "a unique name for reports");
            None
        }
    };
    let probe = match (o.get("prometheus"), o.get("http")) {
        (Some(q), None) => cx.nonempty(q, &o.at("prometheus")).map(Probe::Prometheus),
        (None, Some(h)) => http(cx, h, &o.at("http")).map(Probe::Http),
        (None, None) => {
            cx.err_hint(
                &o.path,
                o.pos,
                "a check needs a measurement",
                "add `prometheus: <query>` or `http: {url: ...}`",
            );
            None
        }
        (Some(_), Some(h)) => {
            cx.err(
                &o.at("http"),
                h.pos,
                "a check has either `prometheus` or `http`, not both",
            );
            None
        }
    };
    let expect = match o.get("expect") {
        Some(n) => expectation(cx, n, &o.at("expect")),
        None => {
            cx.missing(o, "expect", "a condition like `>= 0.99`");
            None
        }
    };
    if let (Some(Probe::Prometheus(_)), Some(e), Some(n)) = (&probe, &expect, o.get("expect"))
        && e.statistic.is_latency()
    {
        cx.err_hint(
            &o.at("expect"),
            n.pos,
            "latency statistics apply to http probes only",
            "compute the quantile in PromQL (histogram_quantile) and compare its value",
        );
    }
    let phases = match o.get("phases") {
        Some(n) => phases(cx, n, &o.at("phases")),
        None => Some(Phase::all()),
    };
    let mut bound = |name: &str| match o.get(name) {
        Some(n) => cx.number(n, &o.at(name)).map(Some),
        None => Some(None),
    };
    let (below, above) = (bound("abortBelow"), bound("abortAbove"));
    if let (Some(Some(b)), Some(Some(a))) = (below, above)
        && b >= a
    {
        let pos = o.get("abortAbove").map_or(o.pos, |n| n.pos);
        cx.err(
            &o.at("abortAbove"),
            pos,
            format!("abortAbove ({a}) must be greater than abortBelow ({b})"),
        );
    }
    let recovery = match o.get("recoveryWithin") {
        Some(n) => {
            let d = cx.parsed::<Duration>(n, &o.at("recoveryWithin"), "a duration like `30s`");
            if let Some(ph) = &phases
                && !ph.contains(&Phase::After)
            {
                cx.err_hint(
                    &o.at("recoveryWithin"),
                    n.pos,
                    "applies only to the `after` phase",
                    "add `after` to `phases`",
                );
            }
            d.map(Some)
        }
        None => Some(None),
    };
    let compare = match o.get("compare") {
        Some(n) => {
            super::compare::compare(cx, n, &o.at("compare"), probe.as_ref(), phases.as_deref())
                .map(Some)
        }
        None => Some(None),
    };
    let check = SteadyCheck {
        name: name?,
        probe: probe?,
        expect: expect?,
        phases: phases?,
        abort_below: below?,
        abort_above: above?,
        recovery_within: recovery?,
        compare: compare?,
    };
    (cx.errors.len() == errors_before).then_some(check)
}

/// Parses an `expect` string, reporting the allowed syntax on error.
pub fn expectation(cx: &mut Cx, node: &Node, path: &str) -> Option<Expectation> {
    let text = cx.string(node, path)?;
    match text.parse::<Expectation>() {
        Ok(e) => Some(e),
        Err(why) => {
            cx.err_hint(
                path,
                node.pos,
                format!("`{text}`: {why}"),
                format!("write {}", Expectation::SYNTAX),
            );
            None
        }
    }
}

fn phases(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Phase>> {
    let items = cx.list(node, path)?;
    if items.is_empty() {
        cx.err(
            path,
            node.pos,
            "needs at least one of before, during, after",
        );
        return None;
    }
    let mut out: Vec<Phase> = Vec::new();
    let mut ok = true;
    for (i, n) in items.iter().enumerate() {
        match cx
            .one_of(n, &index(path, i), &Phase::ALL_NAMES)
            .and_then(Phase::parse)
        {
            Some(p) if out.contains(&p) => {
                cx.err(&index(path, i), n.pos, "phase listed twice");
                ok = false;
            }
            Some(p) => out.push(p),
            None => ok = false,
        }
    }
    ok.then_some(out)
}
