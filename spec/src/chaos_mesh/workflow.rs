//! Workflow: `entry` names a template; `Serial`/`Parallel` templates list `children` and
//! may bound them with `deadline` (the group's deadline), `Suspend` waits `deadline`, chaos templates embed a chaos spec whose duration is the
//! template's `deadline`, `StatusCheck` templates become `check:` steps
//! (`status_check.rs`), `Task` templates become task steps (`task.rs`). The tree becomes
//! native steps in the same order.

use std::collections::HashMap;

use super::common::{Translated, document_schema, set_target};
use super::{dns, network, pod, status_check, stress, task};
use crate::decode::cx::{Cx, Obj, Schema, index, join};
use crate::decode::tree::Node;
use crate::experiment::{Group, Step};
use crate::units::Duration;

/// One template.
pub static TEMPLATE: Schema = Schema::new(&[
    ("name", None),
    ("templateType", None),
    ("deadline", None),
    ("children", None),
    ("stressChaos", Some(&stress::SPEC)),
    ("networkChaos", Some(&network::SPEC)),
    ("podChaos", Some(&pod::SPEC)),
    ("dnsChaos", Some(&dns::SPEC)),
    ("statusCheck", Some(&status_check::SPEC)),
    ("abortWithStatusCheck", None),
    ("task", Some(&task::TASK)),
    ("conditionalBranches", Some(&task::BRANCH)),
    ("schedule", Some(&super::schedule::SPEC)),
]);
/// Workflow `spec`.
pub static SPEC: Schema = Schema::new(&[("entry", None), ("templates", Some(&TEMPLATE))]);
/// The Workflow document.
pub static ROOT: Schema = document_schema!(SPEC);

/// Template types faultline translates.
pub const TYPES: [&str; 10] = [
    "Serial",
    "Parallel",
    "Suspend",
    "StressChaos",
    "NetworkChaos",
    "PodChaos",
    "DNSChaos",
    "StatusCheck",
    "Task",
    "Schedule",
];

/// Deepest template nesting followed (a cycle is reported before this is reached).
const MAX_DEPTH: usize = 32;

struct Template<'n> {
    path: String,
    node: &'n Node,
}

/// Translates a Workflow `spec` into top-level steps (no experiment-wide target: each
/// chaos step carries its own selector).
pub fn translate(cx: &mut Cx, o: &Obj<'_>) -> Option<Vec<Step>> {
    let Some(tnode) = o.get("templates") else {
        cx.missing(o, "templates", "the workflow's nodes");
        return None;
    };
    let items = cx.list(tnode, &o.at("templates"))?;
    let mut templates: HashMap<String, Template<'_>> = HashMap::new();
    for (i, t) in items.iter().enumerate() {
        let p = index(&o.at("templates"), i);
        let name = cx
            .object(t, &p, &TEMPLATE, |cx, to| match to.get("name") {
                Some(n) => cx.nonempty(n, &to.at("name")).map(|s| (s, n.pos)),
                None => {
                    cx.missing(to, "name", "the name children and entry refer to");
                    None
                }
            })
            .flatten();
        let Some((name, pos)) = name else { continue };
        if templates.contains_key(&name) {
            cx.err(
                &join(&p, "name"),
                pos,
                format!("template name `{name}` is used twice"),
            );
            continue;
        }
        templates.insert(name, Template { path: p, node: t });
    }
    let entry = match o.get("entry") {
        Some(n) => cx.nonempty(n, &o.at("entry")).map(|s| (s, n.pos)),
        None => {
            cx.missing(o, "entry", "the name of the first template");
            None
        }
    };
    let (entry, pos) = entry?;
    if !templates.contains_key(&entry) {
        unknown_template(cx, &o.at("entry"), pos, &entry, &templates);
        return None;
    }
    let mut stack = Vec::new();
    let step = node(cx, &templates, &entry, &mut stack)?;
    // The top level of `steps` is already serial: unwrap a Serial entry without deadline.
    Some(match step {
        Step::Serial(Group {
            steps,
            deadline: None,
        }) => steps,
        other => vec![other],
    })
}

/// An embedded Workflow `spec` (a Schedule's `workflow:`) at `path`.
pub fn embedded(cx: &mut Cx, n: &Node, path: &str) -> Option<Vec<Step>> {
    cx.object(n, path, &SPEC, translate).flatten()
}

fn unknown_template(
    cx: &mut Cx,
    path: &str,
    pos: crate::decode::Pos,
    name: &str,
    templates: &HashMap<String, Template<'_>>,
) {
    let mut names: Vec<&str> = templates.keys().map(String::as_str).collect();
    names.sort_unstable();
    let hint = match crate::decode::cx::closest(name, names.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!("templates: {}", names.join(", ")),
    };
    cx.err_hint(path, pos, format!("no template named `{name}`"), hint);
}

fn node(
    cx: &mut Cx,
    templates: &HashMap<String, Template<'_>>,
    name: &str,
    stack: &mut Vec<String>,
) -> Option<Step> {
    let t = templates.get(name)?;
    if stack.iter().any(|s| s == name) || stack.len() >= MAX_DEPTH {
        cx.err(
            &t.path,
            t.node.pos,
            format!(
                "template `{name}` contains itself ({} -> {name})",
                stack.join(" -> ")
            ),
        );
        return None;
    }
    stack.push(name.to_string());
    let r = cx
        .object(t.node, &t.path, &TEMPLATE, |cx, o| {
            template(cx, templates, o, name, stack)
        })
        .flatten();
    stack.pop();
    r
}

fn template(
    cx: &mut Cx,
    templates: &HashMap<String, Template<'_>>,
    o: &Obj<'_>,
    name: &str,
    stack: &mut Vec<String>,
) -> Option<Step> {
    let kind = match o.get("templateType") {
        Some(n) => cx.one_of(n, &o.at("templateType"), &TYPES),
        None => {
            cx.missing(o, "templateType", &TYPES.join(", "));
            None
        }
    }?;
    let deadline = match o.get("deadline") {
        Some(n) => Some(cx.parsed::<Duration>(n, &o.at("deadline"), "a duration like `30s`")?),
        None => None,
    };
    let embedded = [
        ("StressChaos", "stressChaos"),
        ("NetworkChaos", "networkChaos"),
        ("PodChaos", "podChaos"),
        ("DNSChaos", "dnsChaos"),
        ("Schedule", "schedule"),
    ];
    for (k, field) in embedded {
        if k != kind
            && let Some(n) = o.get(field)
        {
            cx.err_hint(
                &o.at(field),
                n.pos,
                format!("`{field}` does not apply to a `{kind}` template"),
                format!("set `templateType: {k}` or remove it"),
            );
        }
    }
    status_check::misplaced(cx, o, kind);
    task::misplaced(cx, o, kind);
    match kind {
        "StatusCheck" => status_check::template(cx, o, name, deadline),
        "Task" => {
            let name = stack.last().cloned();
            task::translate(cx, o, name, deadline, &mut |cx, path, pos, target| {
                if !templates.contains_key(target) {
                    unknown_template(cx, path, pos, target, templates);
                    return None;
                }
                node(cx, templates, target, stack)
            })
        }
        "Serial" | "Parallel" => {
            let Some(cn) = o.get("children") else {
                cx.missing(o, "children", "the template names to run");
                return None;
            };
            let p = o.at("children");
            let items = cx.list(cn, &p)?;
            if items.is_empty() {
                cx.err(&p, cn.pos, "needs at least one child");
                return None;
            }
            let mut steps = Vec::new();
            let mut ok = true;
            for (i, c) in items.iter().enumerate() {
                let cp = index(&p, i);
                let Some(child) = cx.nonempty(c, &cp) else {
                    ok = false;
                    continue;
                };
                if !templates.contains_key(&child) {
                    unknown_template(cx, &cp, c.pos, &child, templates);
                    ok = false;
                    continue;
                }
                match node(cx, templates, &child, stack) {
                    Some(s) => steps.push(s),
                    None => ok = false,
                }
            }
            if deadline == Some(Duration::ZERO) {
                let pos = o.get("deadline").map_or(o.pos, |n| n.pos);
                cx.err(&o.at("deadline"), pos, "must be longer than 0s");
                ok = false;
            }
            // Chaos Mesh ends a Serial/Parallel node at its deadline, children still
            // running included, and the workflow goes on: its deadline reconciler marks the
            // node and its children `DeadlineExceed`, which counts as finished
            // (`WorkflowNodeFinished`) and shows as succeeded, not failed. The group's
            // deadline does the same.
            let group = Group { steps, deadline };
            ok.then(|| {
                if kind == "Serial" {
                    Step::Serial(group)
                } else {
                    Step::Parallel(group)
                }
            })
        }
        "Suspend" => match deadline {
            Some(d) => Some(Step::Suspend(d)),
            None => {
                cx.missing(o, "deadline", "how long to wait, e.g. `1m`");
                None
            }
        },
        "Schedule" => template_schedule(cx, o, deadline),
        _ => {
            let field = embedded.iter().find(|(k, _)| *k == kind).map(|(_, f)| *f)?;
            let Some(n) = o.get(field) else {
                cx.missing(o, field, &format!("the {kind} spec"));
                return None;
            };
            let p = o.at(field);
            let t: Option<Translated> = match kind {
                "StressChaos" => cx
                    .object(n, &p, &stress::SPEC, |cx, s| {
                        stress::translate(cx, s, deadline)
                    })
                    .flatten(),
                "NetworkChaos" => cx
                    .object(n, &p, &network::SPEC, |cx, s| {
                        network::translate(cx, s, deadline)
                    })
                    .flatten(),
                "DNSChaos" => cx
                    .object(n, &p, &dns::SPEC, |cx, s| dns::translate(cx, s, deadline))
                    .flatten(),
                _ => cx
                    .object(n, &p, &pod::SPEC, |cx, s| pod::translate(cx, s, deadline))
                    .flatten(),
            };
            let Translated { mut step, target } = t?;
            set_target(&mut step, &target);
            Some(match (&step, deadline) {
                // A kill is instant, but its workflow node occupies the deadline before the
                // next node starts: keep that timing with a wait.
                (Step::Fault(f), Some(d)) if f.fault.is_instant() => {
                    Step::Serial(vec![step, Step::Suspend(d)].into())
                }
                _ => step,
            })
        }
    }
}

/// A `Schedule` node: its embedded spec repeated at each time until the node's
/// `deadline` (without one, until the run is aborted, at most `guard.maxDuration`).
fn template_schedule(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Step> {
    let Some(n) = o.get("schedule") else {
        cx.missing(
            o,
            "schedule",
            "the Schedule spec: schedule, type and the chaos",
        );
        return None;
    };
    if deadline == Some(Duration::ZERO) {
        cx.err(&o.at("deadline"), o.pos, "must be longer than 0s");
        return None;
    }
    let p = o.at("schedule");
    cx.object(n, &p, &super::schedule::SPEC, |cx, s| {
        super::schedule::repeat(cx, s, deadline, embedded)
    })
    .flatten()
}
