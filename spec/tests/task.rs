//! Task steps: the native `task:` step and Chaos Mesh's Workflow `Task` template decode
//! to the same model; bad containers and conditions name their field and line.

use faultline_spec::task::TaskOutcome;
use faultline_spec::{Step, load_str};

const NATIVE: &str = "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: t, namespace: shop}\nspec:\n  target: {namespaces: [shop], labelSelectors: {app: web}, mode: one}\n  steps:\n";

fn native(steps: &str) -> String {
    format!("{NATIVE}{steps}")
}

/// A task whose stdout picks a podKill (branch a) or a podFailure (branch b).
const PICK: &str = r#"    - name: probe
      deadline: 10m
      task:
        timeout: 2m
        namespace: chaos-tasks
        labels: {team: sre}
        container:
          image: busybox:1.36
          command: [sh, -c]
          args: ["echo branch-a"]
          env: [{name: MODE, value: fast}]
        branches:
          - when: 'exitCode == 0 && stdout == "branch-a"'
            then:
              - podKill: {}
          - when: exitCode == 0 and stdout startsWith "branch-b"
            then:
              podFailure: {}
              duration: 30s
"#;

#[test]
fn a_native_task_decodes_and_round_trips() {
    let e = load_str(&native(PICK), "t.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let [Step::Task(t)] = e.spec.steps.as_slice() else {
        panic!("{:?}", e.spec.steps)
    };
    assert_eq!(t.name.as_deref(), Some("probe"));
    assert_eq!(t.deadline.map(|d| d.to_string()).as_deref(), Some("10m"));
    let task = &t.task;
    assert_eq!(task.timeout.to_string(), "2m");
    assert_eq!(task.namespace.as_deref(), Some("chaos-tasks"));
    assert_eq!(task.container.name, "task", "the default container name");
    assert_eq!(task.container.args, vec!["echo branch-a"]);
    assert_eq!(task.container.env[0].name, "MODE");
    assert_eq!(task.branches.len(), 2);
    assert_eq!(
        task.branches[1].then.len(),
        1,
        "one step as a map is a list of one"
    );
    let out = |stdout| TaskOutcome {
        exit_code: 0,
        stdout,
    };
    assert_eq!(task.chosen(out("branch-a")), vec![0]);
    assert_eq!(task.chosen(out("branch-b2")), vec![1]);
    assert!(task.chosen(out("neither")).is_empty());
    // The branch's fault steps count as the experiment's faults.
    assert_eq!(e.spec.fault_steps().len(), 2);
    // JSON (what the API stores and `validate --explain` prints) reads back the same.
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        json.contains(r#""when":"exitCode == 0 && stdout == \"branch-a\"""#),
        "{json}"
    );
    let back: faultline_spec::Experiment = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
}

/// (name, steps, path, line, text in the message or hint)
fn bad() -> Vec<(&'static str, String, &'static str, usize, &'static str)> {
    let branch = |when: &str| {
        format!(
            "    - task:\n        container: {{image: busybox}}\n        branches:\n          - when: '{when}'\n            then: [{{podKill: {{}}}}]\n"
        )
    };
    vec![
        ("matches refused", branch("stdout matches \"^a\""), "spec.steps[0].task.branches[0].when", 10, "`matches` is not supported"),
        ("int vs string", branch("exitCode == \"0\""), "spec.steps[0].task.branches[0].when", 10, "cannot compare a whole number with a string"),
        ("unknown name", branch("exit_code == 0"), "spec.steps[0].task.branches[0].when", 10, "did you mean `exitCode`"),
        ("single equals", branch("exitCode = 0"), "spec.steps[0].task.branches[0].when", 10, "write `==`"),
        ("not a condition", branch("exitCode"), "spec.steps[0].task.branches[0].when", 10, "not true or false"),
        ("function call", branch("len(stdout) > 1"), "spec.steps[0].task.branches[0].when", 10, "calling `len(...)`"),
        ("no image", "    - task: {container: {command: [true]}}\n".into(), "spec.steps[0].task.container.image", 7, "missing required field `image`"),
        ("no container", "    - task: {}\n".into(), "spec.steps[0].task.container", 7, "missing required field `container`"),
        ("unsupported container field", "    - task: {container: {image: busybox, volumeMounts: []}}\n".into(), "spec.steps[0].task.container.volumeMounts", 7, "known fields here"),
        ("bad pull policy", "    - task: {container: {image: busybox, imagePullPolicy: Sometimes}}\n".into(), "spec.steps[0].task.container.imagePullPolicy", 7, "allowed: Always"),
        ("duration on a task", "    - task: {container: {image: busybox}}\n      duration: 1m\n".into(), "spec.steps[0].duration", 8, "does not apply to a `task` step"),
        ("zero timeout", "    - task: {container: {image: busybox}, timeout: 0s}\n".into(), "spec.steps[0].task.timeout", 7, "longer than 0s"),
        ("branch without then", "    - task:\n        container: {image: busybox}\n        branches: [{when: exitCode == 0}]\n".into(), "spec.steps[0].task.branches[0].then", 9, "missing required field `then`"),
        ("bad step in a branch", branch("exitCode == 0").replace("podKill: {}", "podKil: {}"), "spec.steps[0].task.branches[0].then[0].podKil", 11, "did you mean `podKill`"),
    ]
}

#[test]
fn bad_tasks_name_their_field_and_line() {
    let mut failures = Vec::new();
    for (name, steps, path, line, needle) in bad() {
        match load_str(&native(&steps), "case.yaml") {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(errs) => {
                let hit = errs.errors.iter().any(|e| {
                    e.path == path
                        && e.line == line
                        && (e.message.contains(needle)
                            || e.hint.as_deref().is_some_and(|h| h.contains(needle)))
                });
                if !hit {
                    failures.push(format!(
                        "{name}: want {path} line {line} `{needle}`, got:\n{errs}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const WF: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: Workflow\nmetadata: {name: pick, namespace: shop}\nspec:\n  entry: decide\n  templates:\n";

/// A decision task (its own test manifest, shaped like Chaos Mesh's custom-task example).
const DECIDE: &str = r#"    - name: decide
      templateType: Task
      deadline: 5m
      task:
        container:
          name: probe
          image: busybox
          command: [echo, go-network]
      conditionalBranches:
        - target: stress
          expression: 'exitCode == 0 && stdout == "go-stress"'
        - target: network
          expression: exitCode == 0 && stdout == "go-network"
        - target: report
          expression: exitCode != 0
    - name: network
      templateType: NetworkChaos
      deadline: 20s
      networkChaos: {action: delay, mode: all, selector: {labelSelectors: {app: web}}, delay: {latency: 50ms}}
    - name: stress
      templateType: StressChaos
      deadline: 20s
      stressChaos: {mode: one, selector: {labelSelectors: {app: web}}, stressors: {cpu: {workers: 1, load: 20}}}
    - name: report
      templateType: Task
      task:
        container: {name: notify, image: curlimages/curl, command: [curl, -d, x=1, http://hooks.example/]}
"#;

#[test]
fn a_chaos_mesh_task_template_imports_as_a_task_step() {
    let e = load_str(&format!("{WF}{DECIDE}"), "wf.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let [Step::Task(t)] = e.spec.steps.as_slice() else {
        panic!("{:?}", e.spec.steps)
    };
    assert_eq!(t.name.as_deref(), Some("decide"));
    assert_eq!(t.deadline.map(|d| d.to_string()).as_deref(), Some("5m"));
    assert_eq!(t.task.container.name, "probe");
    assert_eq!(
        t.task.namespace, None,
        "the run uses the Workflow's namespace"
    );
    assert_eq!(e.metadata.namespace.as_deref(), Some("shop"));
    let kinds: Vec<String> = t
        .task
        .branches
        .iter()
        .map(|b| match &b.then[..] {
            [Step::Fault(f)] => f.fault.name().to_string(),
            [Step::Task(t)] => format!("task {}", t.task.container.image),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["stressCpu", "networkDelay", "task curlimages/curl"]);
    let failing = TaskOutcome {
        exit_code: 1,
        stdout: "",
    };
    assert_eq!(t.task.chosen(failing), vec![2]);
}

#[test]
fn chaos_mesh_task_errors_name_their_field_and_line() {
    for (body, path, line, needle) in [
        (
            "    - {name: decide, templateType: Task, task: {container: {image: busybox}}, conditionalBranches: [{target: nowhere, expression: exitCode == 0}]}\n",
            "spec.templates[0].conditionalBranches[0].target",
            7,
            "no template named `nowhere`",
        ),
        (
            "    - name: decide\n      templateType: Task\n      task: {container: {image: busybox}}\n      conditionalBranches:\n        - {target: decide2, expression: 'stdout in [\"a\"]'}\n    - {name: decide2, templateType: Suspend, deadline: 1s}\n",
            "spec.templates[0].conditionalBranches[0].expression",
            11,
            "`in` is not supported",
        ),
        (
            "    - {name: decide, templateType: Task, task: {container: {image: busybox}, volumes: []}}\n",
            "spec.templates[0].task.volumes",
            7,
            "volumes are not supported",
        ),
        (
            "    - {name: decide, templateType: Suspend, deadline: 1s, task: {container: {image: busybox}}}\n",
            "spec.templates[0].task",
            7,
            "does not apply to a `Suspend` template",
        ),
        (
            "    - {name: decide, templateType: Task}\n",
            "spec.templates[0].task",
            7,
            "missing required field `task`",
        ),
    ] {
        let errs = load_str(&format!("{WF}{body}"), "wf.yaml").unwrap_err();
        assert!(
            errs.errors.iter().any(|e| e.path == path
                && e.line == line
                && (e.message.contains(needle)
                    || e.hint.as_deref().is_some_and(|h| h.contains(needle)))),
            "want {path} line {line} `{needle}`, got:\n{errs}"
        );
    }
}
