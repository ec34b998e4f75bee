//! The native document: `apiVersion: faultline.dev/v1alpha1`, `kind: Experiment`.

use super::cx::{Cx, Obj, Schema, index};
use super::schedule::{SCHEDULE, schedule};
use super::steady::{self, CHECK};
use super::steps::{DefaultTarget, STEP, Steps};
use super::target::{TARGET, target};
use super::tree::Node;
use crate::experiment::*;
use crate::selector::Target;
use crate::units::{Duration, Percent};

/// Object metadata.
pub static METADATA: Schema = Schema::new(&[
    ("name", None),
    ("namespace", None),
    ("labels", None),
    ("annotations", None),
]);

/// `spec.guard`.
pub static GUARD: Schema = Schema::new(&[
    ("maxTargets", None),
    ("maxPercent", None),
    ("protectedNamespaces", None),
    ("dryRun", None),
    ("errorBudget", Some(&ERROR_BUDGET)),
    ("maxDuration", None),
    ("allowControlPlane", None),
]);

/// `spec.guard.errorBudget`.
pub static ERROR_BUDGET: Schema = Schema::new(&[("prometheus", None), ("expect", None)]);

/// One `notify` entry.
pub static NOTIFY: Schema = Schema::new(&[
    ("slack", None),
    ("email", None),
    ("webhook", None),
    ("gitlab", None),
    ("on", None),
]);

/// `spec`.
pub static SPEC: Schema = Schema::new(&[
    ("target", Some(&TARGET)),
    ("steadyState", Some(&CHECK)),
    ("steps", Some(&STEP)),
    ("notify", Some(&NOTIFY)),
    ("schedule", Some(&SCHEDULE)),
    ("guard", Some(&GUARD)),
    ("deadline", None),
    ("abortOnAlerts", None),
    ("silenceAlerts", None),
]);

/// The document.
pub static ROOT: Schema = Schema::new(&[
    ("apiVersion", None),
    ("kind", None),
    ("metadata", Some(&METADATA)),
    ("spec", Some(&SPEC)),
]);

/// Checks a Kubernetes object name (DNS-1123 subdomain).
pub fn dns_name(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let s = cx.nonempty(node, path)?;
    let ok = s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        cx.err_hint(
            path,
            node.pos,
            format!("`{}` is not a valid name", super::cx::truncate(&s)),
            "use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit (at most 253)",
        );
        return None;
    }
    Some(s)
}

/// Reads `metadata` (shared with the Chaos Mesh import, which allows more fields).
pub fn metadata(cx: &mut Cx, o: &Obj<'_>) -> Option<Metadata> {
    let name = match o.get("name") {
        Some(n) => dns_name(cx, n, &o.at("name")),
        None => {
            cx.missing(o, "name", "the experiment's name");
            None
        }
    };
    let namespace = match o.get("namespace") {
        Some(n) => dns_name(cx, n, &o.at("namespace")).map(Some),
        None => Some(None),
    };
    let labels = match o.get("labels") {
        Some(n) => cx.string_map(n, &o.at("labels")),
        None => Some(Default::default()),
    };
    let annotations = match o.get("annotations") {
        Some(n) => cx.string_map(n, &o.at("annotations")),
        None => Some(Default::default()),
    };
    Some(Metadata {
        name: name?,
        namespace: namespace?,
        labels: labels?,
        annotations: annotations?,
    })
}

/// Reads a native experiment document (apiVersion and kind already checked).
pub fn experiment(cx: &mut Cx, root: &Node) -> Option<Experiment> {
    cx.object(root, "", &ROOT, |cx, o| {
        let meta = match o.get("metadata") {
            Some(n) => cx.object(n, "metadata", &METADATA, metadata).flatten(),
            None => {
                cx.missing(o, "metadata", "at least `name`");
                None
            }
        };
        let spec = match o.get("spec") {
            Some(n) => cx.object(n, "spec", &SPEC, spec).flatten(),
            None => {
                cx.missing(o, "spec", "steps and a target");
                None
            }
        };
        Some(Experiment {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: meta?,
            spec: spec?,
        })
    })
    .flatten()
}

fn spec(cx: &mut Cx, o: &Obj<'_>) -> Option<ExperimentSpec> {
    let tgt = match o.get("target") {
        Some(n) => target(cx, n, "spec.target").map(Some).ok_or(()),
        None => Ok(None),
    };
    let default = match &tgt {
        Ok(None) => DefaultTarget::None,
        Ok(Some(Target::Kubernetes(_))) => DefaultTarget::Kubernetes,
        Ok(Some(Target::Local(_))) => DefaultTarget::Local,
        Err(()) => DefaultTarget::Invalid,
    };
    let steady = match o.get("steadyState") {
        Some(n) => steady::checks(cx, n, "spec.steadyState"),
        None => Some(Vec::new()),
    };
    let steps = match o.get("steps") {
        Some(n) => Steps::new(default).list(cx, n, "spec.steps"),
        None => {
            cx.missing(o, "steps", "a list of faults");
            None
        }
    };
    let notify = match o.get("notify") {
        Some(n) => notify(cx, n, "spec.notify"),
        None => Some(Vec::new()),
    };
    let schedule = match o.get("schedule") {
        Some(n) => schedule(cx, n, "spec.schedule").map(Some),
        None => Some(None),
    };
    let guard = match o.get("guard") {
        Some(n) => cx.object(n, "spec.guard", &GUARD, guard).flatten(),
        None => Some(Guard::default()),
    };
    let deadline = match o.get("deadline") {
        Some(n) => cx
            .parsed::<Duration>(n, "spec.deadline", "a duration like `10m`")
            .map(Some),
        None => Some(None),
    };
    let alerts = match o.get("abortOnAlerts") {
        Some(n) => cx.strings(n, "spec.abortOnAlerts"),
        None => Some(Vec::new()),
    };
    let silence = match o.get("silenceAlerts") {
        Some(n) => cx.string_map(n, "spec.silenceAlerts"),
        None => Some(Default::default()),
    };
    Some(ExperimentSpec {
        silence_alerts: silence?,
        target: tgt.ok()?,
        steady_state: steady?,
        steps: steps?,
        notify: notify?,
        schedule: schedule?,
        guard: guard?,
        deadline: deadline?,
        abort_on_alerts: alerts?,
    })
}

fn guard(cx: &mut Cx, o: &Obj<'_>) -> Option<Guard> {
    let max_targets = match o.get("maxTargets") {
        Some(n) => cx
            .int(n, &o.at("maxTargets"), 1, i64::from(u32::MAX))
            .map(|v| Some(v as u32)),
        None => Some(None),
    };
    let max_percent = match o.get("maxPercent") {
        Some(n) => cx.percent(n, &o.at("maxPercent")).map(Some),
        None => Some(None::<Percent>),
    };
    let protected = match o.get("protectedNamespaces") {
        Some(n) => cx.strings(n, &o.at("protectedNamespaces")),
        None => Some(Guard::default_protected()),
    };
    let dry_run = match o.get("dryRun") {
        Some(n) => cx.boolean(n, &o.at("dryRun")),
        None => Some(false),
    };
    let error_budget = match o.get("errorBudget") {
        Some(n) => cx
            .object(n, &o.at("errorBudget"), &ERROR_BUDGET, budget)
            .flatten()
            .map(Some),
        None => Some(None),
    };
    let max_duration = match o.get("maxDuration") {
        Some(n) => match cx.parsed::<Duration>(n, &o.at("maxDuration"), "a duration like `1h`") {
            Some(d) if d == Duration::ZERO => {
                cx.err_hint(
                    &o.at("maxDuration"),
                    n.pos,
                    "must be longer than 0s",
                    "it bounds how long an `untilAborted` fault holds, e.g. `30m`",
                );
                None
            }
            d => d.map(Some),
        },
        None => Some(None),
    };
    let allow_control_plane = match o.get("allowControlPlane") {
        Some(n) => cx.boolean(n, &o.at("allowControlPlane")),
        None => Some(false),
    };
    Some(Guard {
        allow_control_plane: allow_control_plane?,
        max_duration: max_duration?,
        max_targets: max_targets?,
        max_percent: max_percent?,
        protected_namespaces: protected?,
        dry_run: dry_run?,
        error_budget: error_budget?,
    })
}

fn budget(cx: &mut Cx, o: &Obj<'_>) -> Option<ErrorBudget> {
    let query = match o.get("prometheus") {
        Some(n) => cx.nonempty(n, &o.at("prometheus")),
        None => {
            cx.missing(o, "prometheus", "a PromQL expression, e.g. a burn rate");
            None
        }
    };
    let expect = match o.get("expect") {
        Some(n) => steady::expectation(cx, n, &o.at("expect")),
        None => {
            cx.missing(o, "expect", "what the value must satisfy, e.g. `< 1`");
            None
        }
    };
    Some(ErrorBudget {
        prometheus: query?,
        expect: expect?,
    })
}

fn notify(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Notify>> {
    let items = cx.list(node, path)?;
    let all: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, n)| cx.object(n, &index(path, i), &NOTIFY, one_notify).flatten())
        .collect();
    all.into_iter().collect()
}

fn one_notify(cx: &mut Cx, o: &Obj<'_>) -> Option<Notify> {
    let channels: Vec<_> = o
        .keys()
        .filter(|(k, _)| *k != "on" && NOTIFY.fields.iter().any(|(f, _)| f == k))
        .collect();
    let channel = match channels.as_slice() {
        [] => {
            cx.err(&o.path, o.pos, "needs one of slack, email, webhook, gitlab");
            None
        }
        [(k, _)] => {
            let n = o.get(k)?;
            let p = o.at(k);
            match *k {
                "slack" => cx
                    .nonempty(n, &p)
                    .map(|c| Channel::Slack(c.trim_start_matches('#').to_string())),
                "email" => cx.nonempty(n, &p).and_then(|a| {
                    let ok = a
                        .split_once('@')
                        .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !a.contains(' '));
                    if !ok {
                        cx.err(&p, n.pos, format!("`{a}` is not an email address"));
                    }
                    ok.then_some(Channel::Email(a))
                }),
                "webhook" => cx.nonempty(n, &p).and_then(|u| {
                    let ok = u.starts_with("http://") || u.starts_with("https://");
                    if !ok {
                        cx.err(&p, n.pos, format!("`{u}` is not an http(s) URL"));
                    }
                    ok.then_some(Channel::Webhook(u))
                }),
                _ => {
                    let empty = n.is_null()
                        || matches!(&n.value, super::tree::Value::Map(m) if m.is_empty());
                    if !empty {
                        cx.err(&p, n.pos, "takes no options yet; write `gitlab: {}`");
                    }
                    empty.then_some(Channel::Gitlab(GitlabNotify {}))
                }
            }
        }
        [_, (k, key), ..] => {
            cx.err_hint(
                &o.at(k),
                key.pos,
                "one channel per entry",
                "make it a separate `notify` entry",
            );
            None
        }
    };
    let on = match o.get("on") {
        Some(n) => {
            let p = o.at("on");
            cx.list(n, &p).and_then(|items| {
                let v: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        cx.one_of(it, &index(&p, i), &Verdict::ALL_NAMES)
                            .and_then(Verdict::parse)
                    })
                    .collect();
                v.into_iter().collect::<Option<Vec<_>>>()
            })
        }
        None => Some(Verdict::unsuccessful()),
    };
    Some(Notify {
        channel: channel?,
        on: on?,
    })
}
