//! Workflow `Task` templates: `task.container` runs once in the cluster, then every
//! `conditionalBranches[]` entry whose `expression` holds runs its `target` template —
//! all of them at the same time, as Chaos Mesh's task reconciler creates a child node per
//! true branch; none true ends the node (`pkg/workflow/controllers/task_reconciler.go`).
//! An expression Chaos Mesh could not evaluate leaves its branch `Unknown`, not taken;
//! here it is an error before anything runs.

use crate::decode::cx::{Cx, Obj, Schema, index};
use crate::decode::task_step::{condition, container};
use crate::decode::tree::Pos;
use crate::experiment::Step;
use crate::task::{Branch, Task, TaskStep};
use crate::units::Duration;

/// `task` of a template: the container, with `labels` for its pod.
pub static TASK: Schema = Schema::new(&[
    ("container", Some(&crate::decode::task_step::CONTAINER)),
    ("volumes", None),
    ("labels", None),
]);

/// One `conditionalBranches` entry.
pub static BRANCH: Schema = Schema::new(&[("target", None), ("expression", None)]);

/// The template fields only a Task has.
pub const FIELDS: [&str; 2] = ["task", "conditionalBranches"];

/// Refuses the Task-only fields on a template of another type.
pub fn misplaced(cx: &mut Cx, o: &Obj<'_>, kind: &str) {
    for field in FIELDS {
        if kind != "Task"
            && let Some(n) = o.get(field)
        {
            cx.err_hint(
                &o.at(field),
                n.pos,
                format!("`{field}` does not apply to a `{kind}` template"),
                "set `templateType: Task` or remove it",
            );
        }
    }
}

/// Translates the template a branch names (`cx`, the `target` field's path and position,
/// the name): the workflow's own template walk, with its cycle check.
pub type Resolve<'a> = dyn FnMut(&mut Cx, &str, Pos, &str) -> Option<Step> + 'a;

/// A `Task` template named `name` as a task step; its `deadline` bounds the task and its
/// branches.
pub fn translate(
    cx: &mut Cx,
    o: &Obj<'_>,
    name: Option<String>,
    deadline: Option<Duration>,
    resolve: &mut Resolve<'_>,
) -> Option<Step> {
    if deadline == Some(Duration::ZERO) {
        let pos = o.get("deadline").map_or(o.pos, |n| n.pos);
        cx.err(&o.at("deadline"), pos, "must be longer than 0s");
    }
    let Some(tn) = o.get("task") else {
        cx.missing(
            o,
            "task",
            "the container to run: `task: { container: { image: ... } }`",
        );
        return None;
    };
    let task = cx
        .object(tn, &o.at("task"), &TASK, |cx, t| {
            if let Some(v) = t.get("volumes") {
                cx.err_hint(
                    &t.at("volumes"),
                    v.pos,
                    "task volumes are not supported",
                    "remove `volumes` (and the container's `volumeMounts`); pass what the task needs in `env` or `args`",
                );
            }
            let container = match t.get("container") {
                Some(n) => container(cx, n, &t.at("container")),
                None => {
                    cx.missing(t, "container", "the image to run");
                    None
                }
            };
            let labels = match t.get("labels") {
                Some(n) => cx.string_map(n, &t.at("labels")),
                None => Some(Default::default()),
            };
            Some((container?, labels?))
        })
        .flatten();
    let branches = match o.get("conditionalBranches") {
        Some(n) => branches(cx, n, &o.at("conditionalBranches"), resolve),
        None => Some(Vec::new()),
    };
    let (container, labels) = task?;
    if deadline == Some(Duration::ZERO) {
        return None;
    }
    Some(Step::Task(TaskStep {
        name,
        task: Task {
            container,
            // The Workflow's namespace, as Chaos Mesh spawns the pod beside its node: the
            // run uses the experiment's `metadata.namespace`, which the import keeps.
            namespace: None,
            labels,
            timeout: crate::task::DEFAULT_TIMEOUT,
            branches: branches?,
        },
        deadline,
    }))
}

fn branches(
    cx: &mut Cx,
    n: &crate::decode::tree::Node,
    path: &str,
    resolve: &mut Resolve<'_>,
) -> Option<Vec<Branch>> {
    let items = cx.list(n, path)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let b = cx
            .object(item, &p, &BRANCH, |cx, b| {
                let when = match b.get("expression") {
                    Some(n) => condition(cx, n, &b.at("expression")),
                    None => {
                        cx.missing(b, "expression", "e.g. `exitCode == 0`");
                        None
                    }
                };
                let then = match b.get("target") {
                    Some(n) => {
                        let target = cx.nonempty(n, &b.at("target"))?;
                        resolve(cx, &b.at("target"), n.pos, &target)
                    }
                    None => {
                        cx.missing(b, "target", "the template to run when the expression holds");
                        None
                    }
                };
                Some(Branch {
                    when: when?,
                    then: vec![then?],
                })
            })
            .flatten();
        match b {
            Some(b) => out.push(b),
            None => ok = false,
        }
    }
    ok.then_some(out)
}
