//! `task:` steps: a container run once in the cluster, then `branches` picked by its
//! exit code and stdout. The container and condition readers are shared with the Chaos
//! Mesh import, whose `Task` templates become these steps.

use super::cx::{Cx, Obj, Schema, index};
use super::tree::Node;
use crate::experiment::Step;
use crate::task::{Branch, Condition, EnvVar, Task, TaskContainer, TaskStep};
use crate::units::Duration;

/// The key that makes a step a task.
pub const TASK_KEY: &str = "task";

/// The container fields a task supports (a subset of a Kubernetes container).
pub static CONTAINER: Schema = Schema::new(&[
    ("name", None),
    ("image", None),
    ("command", None),
    ("args", None),
    ("env", Some(&ENV)),
    ("workingDir", None),
    ("imagePullPolicy", None),
]);

/// One `env` entry.
pub static ENV: Schema = Schema::new(&[("name", None), ("value", None)]);

/// One native branch (`then` holds steps, read by the [`StepReader`]).
pub static BRANCH: Schema = Schema::new(&[("when", None), ("then", None)]);

/// The native `task:` object.
pub static TASK: Schema = Schema::new(&[
    ("container", Some(&CONTAINER)),
    ("namespace", None),
    ("labels", None),
    ("timeout", None),
    ("branches", Some(&BRANCH)),
]);

const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];

/// What a task step needs from the reader of the steps around it (`steps.rs`): the steps
/// of its branches, and step names kept unique across the experiment.
pub trait StepReader {
    /// One step (a map) or a list of steps, at `path`.
    fn steps(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Step>>;

    /// A step name, refused when an earlier step has it.
    fn unique_name(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<String>;
}

/// A step whose key is `task`: the task itself and its step-level `name`, `deadline`.
pub fn task_step(r: &mut dyn StepReader, cx: &mut Cx, o: &Obj<'_>) -> Option<Step> {
    Reader(r).task_step(cx, o)
}

struct Reader<'r>(&'r mut dyn StepReader);

impl Reader<'_> {
    fn task_step(&mut self, cx: &mut Cx, o: &Obj<'_>) -> Option<Step> {
        let mut ok = true;
        for (k, key) in o.keys() {
            if ["duration", "untilAborted", "target"].contains(&k) {
                cx.err_hint(
                    &o.at(k),
                    key.pos,
                    format!("`{k}` does not apply to a `task` step"),
                    "bound the task with `deadline` or `task.timeout`; set targets on the fault steps of its branches",
                );
                ok = false;
            }
        }
        let name = match o.get("name") {
            Some(n) => self.0.unique_name(cx, n, &o.at("name")).map(Some),
            None => Some(None),
        };
        let deadline = match o.get("deadline") {
            Some(n) => positive(cx, n, &o.at("deadline"), "a duration like `5m`").map(Some),
            None => Some(None),
        };
        let task = o.get(TASK_KEY).and_then(|n| {
            cx.object(n, &o.at(TASK_KEY), &TASK, |cx, t| self.task(cx, t))
                .flatten()
        });
        let step = TaskStep {
            name: name?,
            task: task?,
            deadline: deadline?,
        };
        ok.then_some(Step::Task(step))
    }

    fn task(&mut self, cx: &mut Cx, o: &Obj<'_>) -> Option<Task> {
        let container = match o.get("container") {
            Some(n) => container(cx, n, &o.at("container")),
            None => {
                cx.missing(
                    o,
                    "container",
                    "the image to run, e.g. `{ image: busybox }`",
                );
                None
            }
        };
        let namespace = match o.get("namespace") {
            Some(n) => dns_label(cx, n, &o.at("namespace")).map(Some),
            None => Some(None),
        };
        let labels = match o.get("labels") {
            Some(n) => cx.string_map(n, &o.at("labels")),
            None => Some(Default::default()),
        };
        let timeout = match o.get("timeout") {
            Some(n) => positive(cx, n, &o.at("timeout"), "a duration like `2m`"),
            None => Some(crate::task::DEFAULT_TIMEOUT),
        };
        let branches = match o.get("branches") {
            Some(n) => self.branches(cx, n, &o.at("branches")),
            None => Some(Vec::new()),
        };
        Some(Task {
            container: container?,
            namespace: namespace?,
            labels: labels?,
            timeout: timeout?,
            branches: branches?,
        })
    }

    fn branches(&mut self, cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Branch>> {
        let items = cx.list(node, path)?;
        let all: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, n)| {
                cx.object(n, &index(path, i), &BRANCH, |cx, b| self.branch(cx, b))
                    .flatten()
            })
            .collect();
        all.into_iter().collect()
    }

    fn branch(&mut self, cx: &mut Cx, o: &Obj<'_>) -> Option<Branch> {
        let when = match o.get("when") {
            Some(n) => condition(cx, n, &o.at("when")),
            None => {
                cx.missing(o, "when", "a condition such as `exitCode == 0`");
                None
            }
        };
        let then = match o.get("then") {
            // One step or a list of them, run one after the other.
            Some(n) => self.0.steps(cx, n, &o.at("then")),
            None => {
                cx.missing(o, "then", "the steps to run when the condition holds");
                None
            }
        };
        Some(Branch {
            when: when?,
            then: then?,
        })
    }
}

/// Reads a branch condition, refusing what the supported subset of expr lacks.
pub fn condition(cx: &mut Cx, node: &Node, path: &str) -> Option<Condition> {
    let text = cx.nonempty(node, path)?;
    match Condition::parse(&text) {
        Ok(c) => Some(c),
        Err(e) => {
            let message = format!("`{}`: {e}", super::cx::truncate(&text));
            if e.message.contains("supported:") {
                // The refusal already lists what is supported.
                cx.err(path, node.pos, message);
            } else {
                cx.err_hint(
                    path,
                    node.pos,
                    message,
                    "conditions read `exitCode` and `stdout`, e.g. `exitCode == 0 && stdout == \"ok\"`",
                );
            }
            None
        }
    }
}

/// Reads a task's container (native and Chaos Mesh).
pub fn container(cx: &mut Cx, node: &Node, path: &str) -> Option<TaskContainer> {
    cx.object(node, path, &CONTAINER, |cx, o| {
        let name = match o.get("name") {
            Some(n) => dns_label(cx, n, &o.at("name")),
            None => Some(TaskContainer::default_name()),
        };
        let image = match o.get("image") {
            Some(n) => cx.nonempty(n, &o.at("image")),
            None => {
                cx.missing(o, "image", "the image to run, e.g. `busybox:1.36`");
                None
            }
        };
        let command = match o.get("command") {
            Some(n) => cx.strings(n, &o.at("command")),
            None => Some(Vec::new()),
        };
        let args = match o.get("args") {
            Some(n) => cx.strings(n, &o.at("args")),
            None => Some(Vec::new()),
        };
        let env = match o.get("env") {
            Some(n) => env(cx, n, &o.at("env")),
            None => Some(Vec::new()),
        };
        let working_dir = match o.get("workingDir") {
            Some(n) => cx.nonempty(n, &o.at("workingDir")).map(Some),
            None => Some(None),
        };
        let pull = match o.get("imagePullPolicy") {
            Some(n) => cx
                .one_of(n, &o.at("imagePullPolicy"), &PULL_POLICIES)
                .map(|p| Some(p.to_string())),
            None => Some(None),
        };
        Some(TaskContainer {
            name: name?,
            image: image?,
            command: command?,
            args: args?,
            env: env?,
            working_dir: working_dir?,
            image_pull_policy: pull?,
        })
    })
    .flatten()
}

fn env(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<EnvVar>> {
    let items = cx.list(node, path)?;
    let all: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            cx.object(n, &index(path, i), &ENV, |cx, o| {
                let name = match o.get("name") {
                    Some(n) => cx.nonempty(n, &o.at("name")),
                    None => {
                        cx.missing(o, "name", "the variable's name");
                        None
                    }
                };
                let value = match o.get("value") {
                    Some(n) => cx.string(n, &o.at("value")),
                    None => Some(String::new()),
                };
                Some(EnvVar {
                    name: name?,
                    value: value?,
                })
            })
            .flatten()
        })
        .collect();
    all.into_iter().collect()
}

/// A namespace or container name: a DNS-1123 label (at most 63 characters).
fn dns_label(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let s = cx.nonempty(node, path)?;
    let ok = s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        cx.err_hint(
            path,
            node.pos,
            format!("`{}` is not a valid name", super::cx::truncate(&s)),
            "use lowercase letters, digits and `-`, starting and ending with a letter or digit (at most 63)",
        );
        return None;
    }
    Some(s)
}

fn positive(cx: &mut Cx, n: &Node, path: &str, what: &str) -> Option<Duration> {
    match cx.parsed::<Duration>(n, path, what)? {
        d if d == Duration::ZERO => {
            cx.err(path, n.pos, "must be longer than 0s");
            None
        }
        d => Some(d),
    }
}
