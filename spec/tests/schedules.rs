//! Schedules as Chaos Mesh writes them: robfig's descriptors and `@every`, the options
//! (`concurrencyPolicy`, `startingDeadline`, `historyLimit`), the `repeat:` step, and the
//! import of `kind: Schedule` and of a Workflow's `templateType: Schedule` node. Good
//! documents decode to what they say; bad ones fail at their field and line.

use faultline_spec::{ConcurrencyPolicy, Duration, Experiment, FaultKind, Step, Target, load_str};

const HEAD: &str = "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: nightly-pause}\nspec:\n  target: {local: {pid: 1}}\n";
/// A one-step body: steps start on line 7 of [`HEAD`] + `schedule` on line 6.
const STEPS: &str = "  steps:\n    - processPause: {}\n      duration: 1s\n";
const CM: &str =
    "apiVersion: chaos-mesh.org/v1alpha1\nkind: Schedule\nmetadata: {name: cart-latency}\nspec:\n";
const WF: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: Workflow\nmetadata: {name: game-day}\nspec:\n  entry: main\n  templates:\n";

fn one(doc: &str) -> Experiment {
    load_str(doc, "t.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0)
}

#[test]
fn the_object_form_carries_the_options_and_round_trips() {
    let e = one(&format!(
        "{HEAD}  schedule: {{cron: '@daily', concurrencyPolicy: Allow, startingDeadline: 90s, historyLimit: 3}}\n{STEPS}"
    ));
    let s = e.spec.schedule.as_ref().unwrap();
    assert_eq!(s.as_str(), "@daily");
    assert_eq!(s.policy().concurrency, ConcurrencyPolicy::Allow);
    assert_eq!(s.policy().starting_deadline, Some(Duration::from_secs(90)));
    assert_eq!(s.policy().history_limit, Some(3));
    // `--explain` prints it back in the object form, and that decodes to the same.
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json["spec"]["schedule"],
        serde_json::json!({"cron": "@daily", "concurrencyPolicy": "Allow", "startingDeadline": "1m30s", "historyLimit": 3})
    );
    let back: Experiment = serde_json::from_value(json).unwrap();
    assert_eq!(back, e);
    // The defaults: Forbid, no deadline, no limit; the string form stays a string.
    let e = one(&format!("{HEAD}  schedule: '@every 2s'\n{STEPS}"));
    assert!(e.spec.schedule.as_ref().unwrap().policy().is_default());
    assert_eq!(
        serde_json::to_value(&e).unwrap()["spec"]["schedule"],
        "@every 2s"
    );
}

#[test]
fn bad_schedules_name_their_field_and_line() {
    let cases: Vec<(&str, String, &str, usize, &str)> = vec![
        (
            "unknown descriptor",
            format!("{HEAD}  schedule: '@fortnightly'\n{STEPS}"),
            "spec.schedule",
            6,
            "not a descriptor",
        ),
        (
            "every too short",
            format!("{HEAD}  schedule: '@every 200ms'\n{STEPS}"),
            "spec.schedule",
            6,
            "shorter than 1s",
        ),
        (
            "every without duration",
            format!("{HEAD}  schedule: {{cron: '@every soon'}}\n{STEPS}"),
            "spec.schedule.cron",
            6,
            "needs a duration",
        ),
        (
            "every with a zone",
            format!(
                "{HEAD}  schedule:\n    cron: '@every 1h'\n    timezone: Europe/Berlin\n{STEPS}"
            ),
            "spec.schedule.timezone",
            8,
            "no wall clock",
        ),
        (
            "policy misspelt",
            format!(
                "{HEAD}  schedule:\n    cron: '@hourly'\n    concurrencyPolicy: Forbidden\n{STEPS}"
            ),
            "spec.schedule.concurrencyPolicy",
            8,
            "did you mean `Forbid`",
        ),
        (
            "starting deadline zero",
            format!("{HEAD}  schedule:\n    cron: '@hourly'\n    startingDeadline: 0s\n{STEPS}"),
            "spec.schedule.startingDeadline",
            8,
            "longer than 0s",
        ),
        (
            "starting deadline in seconds",
            format!(
                "{HEAD}  schedule:\n    cron: '@hourly'\n    startingDeadlineSeconds: 30\n{STEPS}"
            ),
            "spec.schedule.startingDeadlineSeconds",
            8,
            "startingDeadline",
        ),
        (
            "history limit zero",
            format!("{HEAD}  schedule:\n    cron: '@hourly'\n    historyLimit: 0\n{STEPS}"),
            "spec.schedule.historyLimit",
            8,
            "out of range",
        ),
        (
            "repeat without step",
            format!(
                "{HEAD}  steps:\n    - repeat: {{schedule: '@every 2s'}}\n      deadline: 10s\n"
            ),
            "spec.steps[0].repeat.step",
            7,
            "missing required field",
        ),
        (
            "repeat bad schedule",
            format!(
                "{HEAD}  steps:\n    - repeat:\n        schedule: '@every'\n        step: {{processKill: {{}}}}\n"
            ),
            "spec.steps[0].repeat.schedule",
            8,
            "needs a duration",
        ),
        (
            "repeat policy misspelt",
            format!(
                "{HEAD}  steps:\n    - repeat:\n        schedule: '@every 2s'\n        concurrencyPolicy: allow\n        step: {{processKill: {{}}}}\n"
            ),
            "spec.steps[0].repeat.concurrencyPolicy",
            9,
            "did you mean `Allow`",
        ),
        (
            "repeat with a duration",
            format!(
                "{HEAD}  steps:\n    - repeat: {{schedule: '@every 2s', step: {{processKill: {{}}}}}}\n      duration: 10s\n"
            ),
            "spec.steps[0].duration",
            8,
            "does not apply to a `repeat` step",
        ),
        (
            "repeat child checked",
            format!(
                "{HEAD}  steps:\n    - repeat:\n        schedule: '@every 2s'\n        step: {{processPause: {{}}}}\n      deadline: 10s\n"
            ),
            "spec.steps[0].repeat.step.duration",
            9,
            "needs a `duration`",
        ),
        (
            "cm type not imported",
            format!("{CM}  schedule: '@every 1m'\n  type: IOChaos\n"),
            "spec.type",
            6,
            "type `IOChaos` is not imported",
        ),
        (
            "cm type without its spec",
            format!("{CM}  schedule: '@every 1m'\n  type: PodChaos\n"),
            "spec.podChaos",
            5,
            "missing required field",
        ),
        (
            "cm spec of another type",
            format!(
                "{CM}  schedule: '@every 1m'\n  type: PodChaos\n  stressChaos: {{mode: all}}\n"
            ),
            "spec.stressChaos",
            7,
            "does not apply to `type: PodChaos`",
        ),
        (
            "cm bad cron",
            format!(
                "{CM}  schedule: '61 * * * *'\n  type: PodChaos\n  podChaos: {{action: pod-kill, mode: one, selector: {{namespaces: [shop]}}}}\n"
            ),
            "spec.schedule",
            5,
            "invalid",
        ),
        (
            "cm starting deadline zero",
            format!(
                "{CM}  schedule: '@hourly'\n  startingDeadlineSeconds: 0\n  type: PodChaos\n  podChaos: {{action: pod-kill, mode: one, selector: {{namespaces: [shop]}}}}\n"
            ),
            "spec.startingDeadlineSeconds",
            6,
            "out of range",
        ),
        (
            "cm embedded chaos checked",
            format!(
                "{CM}  schedule: '@hourly'\n  type: PodChaos\n  podChaos: {{action: pod-kil, mode: one, selector: {{namespaces: [shop]}}}}\n"
            ),
            "spec.podChaos.action",
            7,
            "pod-kill",
        ),
        (
            "wf schedule without spec",
            format!("{WF}    - {{name: main, templateType: Schedule, deadline: 30s}}\n"),
            "spec.templates[0].schedule",
            7,
            "missing required field",
        ),
        (
            "wf schedule type not imported",
            format!(
                "{WF}    - name: main\n      templateType: Schedule\n      schedule: {{schedule: '@every 5s', type: TimeChaos}}\n"
            ),
            "spec.templates[0].schedule.type",
            9,
            "`TimeChaos` is not imported",
        ),
    ];
    let mut failures = Vec::new();
    for (name, doc, path, line, needle) in &cases {
        match load_str(doc, "case.yaml") {
            Ok(e) => failures.push(format!("{name}: accepted: {e:?}")),
            Err(errs) => {
                let hit = errs.errors.iter().any(|e| {
                    e.path == *path
                        && e.line == *line
                        && (e.message.contains(needle)
                            || e.hint.as_deref().is_some_and(|h| h.contains(needle)))
                });
                if !hit {
                    failures.push(format!(
                        "{name}: wanted {path} at line {line} with `{needle}`, got:\n{errs}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_repeat_step_decodes_with_its_policy_and_deadline_and_round_trips() {
    let e = one(&format!(
        "{HEAD}  steps:\n    - repeat:\n        schedule: '@every 2s'\n        concurrencyPolicy: Allow\n        step:\n          processPause: {{}}\n          duration: 1s\n      deadline: 9s\n    - repeat: {{schedule: '*/5 * * * * *', step: {{processKill: {{}}}}}}\n"
    ));
    let Step::Repeat(r) = &e.spec.steps[0] else {
        panic!("{:?}", e.spec.steps[0])
    };
    assert_eq!(r.schedule.as_str(), "@every 2s");
    assert_eq!(r.concurrency, ConcurrencyPolicy::Allow);
    assert_eq!(r.deadline, Some(Duration::from_secs(9)));
    assert!(matches!(&*r.step, Step::Fault(f) if f.duration == Some(Duration::from_secs(1))));
    let Step::Repeat(r) = &e.spec.steps[1] else {
        panic!()
    };
    assert_eq!(
        (r.concurrency, r.deadline),
        (ConcurrencyPolicy::Forbid, None)
    );
    // The faults under a repeat are the experiment's fault steps too (guard, warnings).
    assert_eq!(e.spec.fault_steps().len(), 2);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["spec"]["steps"][0]["deadline"], "9s");
    assert_eq!(
        json["spec"]["steps"][0]["repeat"]["concurrencyPolicy"],
        "Allow"
    );
    let back: Experiment = serde_json::from_value(json).unwrap();
    assert_eq!(back, e);
}

#[test]
fn a_chaos_mesh_schedule_becomes_one_scheduled_experiment() {
    let e = one(&format!(
        "{CM}  schedule: '15 */2 * * *'\n  historyLimit: 4\n  concurrencyPolicy: Allow\n  startingDeadlineSeconds: 45\n  type: NetworkChaos\n  networkChaos:\n    action: delay\n    mode: all\n    selector:\n      namespaces: [shop]\n      labelSelectors: {{app: cart}}\n    delay: {{latency: 40ms}}\n    duration: 20s\n"
    ));
    let s = e.spec.schedule.as_ref().unwrap();
    assert_eq!(s.as_str(), "15 */2 * * *");
    assert_eq!(s.policy().concurrency, ConcurrencyPolicy::Allow);
    assert_eq!(s.policy().starting_deadline, Some(Duration::from_secs(45)));
    assert_eq!(s.policy().history_limit, Some(4));
    assert!(matches!(&e.spec.target, Some(Target::Kubernetes(sel)) if sel.namespaces == ["shop"]));
    let [Step::Fault(f)] = e.spec.steps.as_slice() else {
        panic!("{:?}", e.spec.steps)
    };
    assert!(
        matches!(f.fault, FaultKind::NetworkDelay(_)),
        "{:?}",
        f.fault
    );
    assert_eq!(f.duration, Some(Duration::from_secs(20)));
    assert_eq!(
        e.metadata.annotations["faultline.dev/source"],
        "chaos-mesh.org/v1alpha1 Schedule"
    );

    // Defaults as Chaos Mesh's: Forbid; a chaos without duration holds until aborted.
    let e = one(&format!(
        "{CM}  schedule: '@every 10m'\n  type: StressChaos\n  stressChaos:\n    mode: one\n    selector: {{namespaces: [shop]}}\n    stressors: {{cpu: {{workers: 1, load: 30}}}}\n"
    ));
    assert_eq!(
        e.spec.schedule.as_ref().unwrap().policy().concurrency,
        ConcurrencyPolicy::Forbid
    );
    assert!(e.spec.fault_steps()[0].until_aborted);

    // An embedded workflow keeps its steps.
    let e = one(&format!(
        "{CM}  schedule: '@hourly'\n  type: Workflow\n  workflow:\n    entry: both\n    templates:\n      - {{name: both, templateType: Serial, children: [wait, kill]}}\n      - {{name: wait, templateType: Suspend, deadline: 5s}}\n      - name: kill\n        templateType: PodChaos\n        podChaos: {{action: pod-kill, mode: one, selector: {{namespaces: [shop]}}}}\n"
    ));
    assert_eq!(e.spec.steps.len(), 2, "{:?}", e.spec.steps);
    assert_eq!(e.spec.steps[0], Step::Suspend(Duration::from_secs(5)));
}

#[test]
fn a_workflow_schedule_node_becomes_a_repeat_bounded_by_its_deadline() {
    let e = one(&format!(
        "{WF}    - {{name: main, templateType: Serial, children: [kills, settle]}}\n    - name: kills\n      templateType: Schedule\n      deadline: 40s\n      schedule:\n        schedule: '@every 2s'\n        concurrencyPolicy: Allow\n        historyLimit: 2\n        type: PodChaos\n        podChaos: {{action: pod-kill, mode: one, selector: {{namespaces: [shop], labelSelectors: {{app: cart}}}}}}\n    - {{name: settle, templateType: Suspend, deadline: 5s}}\n"
    ));
    let Step::Repeat(r) = &e.spec.steps[0] else {
        panic!("{:?}", e.spec.steps)
    };
    assert_eq!(r.schedule.as_str(), "@every 2s");
    assert_eq!(r.concurrency, ConcurrencyPolicy::Allow);
    assert_eq!(r.deadline, Some(Duration::from_secs(40)));
    // The child carries the chaos's selector (a workflow has no experiment-wide target).
    let Step::Fault(f) = &*r.step else {
        panic!("{:?}", r.step)
    };
    assert!(
        matches!(&f.target, Some(Target::Kubernetes(sel)) if sel.label_selectors["app"] == "cart")
    );
    assert_eq!(e.spec.steps[1], Step::Suspend(Duration::from_secs(5)));
}

/// A corpus file of `tests/chaos-mesh/composed/`.
fn composed(name: &str) -> Experiment {
    let path = format!(
        "{}/../tests/chaos-mesh/composed/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    one(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

#[test]
fn a_dns_chaos_runs_inside_a_workflow_node_and_a_schedule() {
    use faultline_spec::fault::{DnsAnswer, DnsType};
    // Workflow: each DNSChaos node is a DNS fault step for the node's deadline, with the
    // chaos's selector, in the Serial order.
    let e = composed("workflow-dnschaos.yaml");
    let [Step::Fault(err), Step::Suspend(settle), Step::Fault(spoof)] = e.spec.steps.as_slice()
    else {
        panic!("{:?}", e.spec.steps)
    };
    let FaultKind::DnsError(d) = &err.fault else {
        panic!("{:?}", err.fault)
    };
    assert_eq!(
        (d.patterns.as_slice(), d.answer, d.query_types.as_slice()),
        (
            ["payments.*".to_string()].as_slice(),
            DnsAnswer::Servfail,
            [DnsType::A, DnsType::Aaaa].as_slice()
        )
    );
    assert_eq!(err.duration, Some(Duration::from_secs(20)));
    assert!(
        matches!(&err.target, Some(Target::Kubernetes(sel)) if sel.label_selectors["app"] == "storefront")
    );
    assert_eq!(*settle, Duration::from_secs(5));
    let FaultKind::DnsSpoof(s) = &spoof.fault else {
        panic!("{:?}", spoof.fault)
    };
    assert!(s.random && s.patterns == ["*"], "{s:?}");
    assert_eq!(spoof.duration, Some(Duration::from_secs(10)));

    // Schedule: the DNSChaos is the step of each run, its selector the target.
    let e = composed("schedule-dnschaos.yaml");
    let when = e.spec.schedule.as_ref().unwrap();
    assert_eq!(when.as_str(), "@every 10m");
    assert_eq!(when.policy().history_limit, Some(5));
    assert!(
        matches!(&e.spec.target, Some(Target::Kubernetes(sel)) if sel.namespaces == ["storefront"])
    );
    let [Step::Fault(f)] = e.spec.steps.as_slice() else {
        panic!("{:?}", e.spec.steps)
    };
    assert!(matches!(&f.fault, FaultKind::DnsError(d) if d.patterns == ["catalog.example"]));
    assert_eq!(f.duration, Some(Duration::from_secs(30)));

    // A Workflow's Schedule node may run a DNSChaos too.
    let e = one(&format!(
        "{WF}    - name: main\n      templateType: Schedule\n      deadline: 1m\n      schedule:\n        schedule: '@every 20s'\n        type: DNSChaos\n        dnsChaos: {{action: error, mode: all, patterns: [db.*], selector: {{namespaces: [shop]}}, duration: 5s}}\n"
    ));
    let Step::Repeat(r) = &e.spec.steps[0] else {
        panic!("{:?}", e.spec.steps)
    };
    assert!(matches!(&*r.step, Step::Fault(f) if matches!(f.fault, FaultKind::DnsError(_))));
}

#[test]
fn a_misplaced_or_missing_dns_chaos_names_its_field() {
    let cases = [
        (
            format!("{WF}    - name: main\n      templateType: DNSChaos\n      deadline: 10s\n"),
            "spec.templates[0].dnsChaos",
            7,
        ),
        (
            format!(
                "{WF}    - name: main\n      templateType: PodChaos\n      podChaos: {{action: pod-kill, mode: one, selector: {{namespaces: [a]}}}}\n      dnsChaos: {{action: error, mode: all, selector: {{namespaces: [a]}}}}\n"
            ),
            "spec.templates[0].dnsChaos",
            10,
        ),
        (
            format!(
                "{WF}    - name: main\n      templateType: DNSChaos\n      deadline: 10s\n      dnsChaos: {{action: random, mode: all, selector: {{namespaces: [a]}}, containerNames: [x]}}\n"
            ),
            "spec.templates[0].dnsChaos.containerNames",
            10,
        ),
        (
            format!("{CM}  schedule: '@hourly'\n  type: DNSChaos\n"),
            "spec.dnsChaos",
            5,
        ),
        (
            format!(
                "{CM}  schedule: '@hourly'\n  type: DNSChaos\n  dnsChaos:\n    action: lookup\n    mode: all\n    selector: {{namespaces: [a]}}\n"
            ),
            "spec.dnsChaos.action",
            8,
        ),
    ];
    for (doc, path, line) in &cases {
        let errs = load_str(doc, "case.yaml").expect_err(doc);
        assert!(
            errs.errors
                .iter()
                .any(|e| e.path == *path && e.line == *line),
            "want {path} at line {line}:\n{errs}"
        );
    }
}
