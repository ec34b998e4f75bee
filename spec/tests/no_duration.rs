//! Chaos Mesh parity (issue 24): a StressChaos or NetworkChaos without `duration` holds
//! until the run is aborted, bounded by `guard.maxDuration`; a `deadline` on a Serial or
//! Parallel template bounds the whole group. Both in the native form too, and the native
//! translation (`validate --explain`) reads back to the same experiment.

use faultline_spec::{Duration, Experiment, Guard, Step, load_str, yaml};

fn one(text: &str) -> Experiment {
    let mut v = load_str(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.len(), 1);
    v.remove(0)
}

/// The native translation, printed and read back, is the same experiment.
fn round_trips(e: &Experiment) {
    let text = yaml::to_yaml(e).unwrap();
    assert_eq!(&one(&text), e, "{text}");
}

// Chaos Mesh's documented canonical examples (chaos-mesh/website docs), without `duration`.
const STRESS: &str = "apiVersion: chaos-mesh.org/v1alpha1
kind: StressChaos
metadata:
  name: memory-stress-example
  namespace: chaos-mesh
spec:
  mode: one
  selector:
    labelSelectors:
      'app': 'app1'
  stressors:
    memory:
      workers: 4
      size: '256MB'
";

const NETWORK: &str = "apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata:
  name: delay
spec:
  action: delay
  mode: one
  selector:
    namespaces:
      - default
    labelSelectors:
      'app': 'web-show'
  delay:
    latency: '10ms'
    correlation: '100'
    jitter: '0ms'
";

#[test]
fn a_stress_chaos_without_duration_holds_until_aborted() {
    let e = one(STRESS);
    let f = e.spec.fault_steps();
    assert_eq!(f.len(), 1);
    assert!(f[0].until_aborted);
    assert_eq!(f[0].duration, None);
    assert_eq!(f[0].fault.name(), "stressMemory");
    assert_eq!(e.spec.guard.max_duration, None);
    let text = yaml::to_yaml(&e).unwrap();
    assert!(text.contains("untilAborted: true"), "{text}");
    round_trips(&e);
}

#[test]
fn a_network_chaos_without_duration_holds_until_aborted() {
    let e = one(NETWORK);
    let f = e.spec.fault_steps();
    assert!(f[0].until_aborted && f[0].duration.is_none());
    assert_eq!(f[0].fault.name(), "networkDelay");
    round_trips(&e);
}

#[test]
fn with_a_duration_nothing_changes() {
    let e = one(&NETWORK.replace("  action: delay\n", "  action: delay\n  duration: 30s\n"));
    let f = e.spec.fault_steps();
    assert!(!f[0].until_aborted);
    assert_eq!(f[0].duration, Some(Duration::from_secs(30)));
    let text = yaml::to_yaml(&e).unwrap();
    assert!(!text.contains("untilAborted"), "{text}");
}

#[test]
fn native_until_aborted_and_max_duration() {
    let e = one("apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {name: t}
spec:
  guard: {maxDuration: 2s}
  target: {local: {pid: 1}}
  steps:
    - stressCpu: {workers: 1, load: 5}
      untilAborted: true
");
    assert_eq!(e.spec.guard.max_duration, Some(Duration::from_secs(2)));
    assert!(e.spec.fault_steps()[0].until_aborted);
    round_trips(&e);
    assert_eq!(Guard::DEFAULT_MAX_DURATION, Duration::from_secs(3600));
}

#[test]
fn a_native_fault_without_duration_still_needs_one() {
    let e = load_str(
        "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {name: t}
spec:
  target: {local: {pid: 1}}
  steps:
    - stressCpu: {workers: 1, load: 5}
",
        "t.yaml",
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("needs a `duration`") && s.contains("untilAborted: true"),
        "{s}"
    );
}

const WORKFLOW: &str = "apiVersion: chaos-mesh.org/v1alpha1
kind: Workflow
metadata:
  name: try-workflow-serial
spec:
  entry: serial-of-3-node
  templates:
    - name: serial-of-3-node
      templateType: Serial
      deadline: 240s
      children:
        - workflow-stress-chaos
        - suspending
        - workflow-network-chaos
    - name: suspending
      templateType: Suspend
      deadline: 10s
    - name: workflow-network-chaos
      templateType: NetworkChaos
      deadline: 20s
      networkChaos:
        direction: to
        action: delay
        mode: all
        selector:
          labelSelectors:
            'app': 'hello-kubernetes'
        delay:
          latency: '90ms'
          correlation: '25'
          jitter: '90ms'
    - name: workflow-stress-chaos
      templateType: StressChaos
      deadline: 20s
      stressChaos:
        mode: one
        selector:
          labelSelectors:
            'app': 'hello-kubernetes'
        stressors:
          cpu:
            workers: 1
            load: 20
";

#[test]
fn a_serial_template_deadline_bounds_the_group() {
    let e = one(WORKFLOW);
    // A Serial entry with a deadline stays a group (without one it is unwrapped).
    let [Step::Serial(g)] = e.spec.steps.as_slice() else {
        panic!("{:#?}", e.spec.steps)
    };
    assert_eq!(g.deadline, Some(Duration::from_secs(240)));
    assert_eq!(g.steps.len(), 3);
    round_trips(&e);
    let par = one(&WORKFLOW.replace("templateType: Serial", "templateType: Parallel"));
    let [Step::Parallel(g)] = par.spec.steps.as_slice() else {
        panic!("{:#?}", par.spec.steps)
    };
    assert_eq!(g.deadline, Some(Duration::from_secs(240)));
    round_trips(&par);
}

#[test]
fn a_native_group_takes_a_deadline() {
    let e = one("apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {name: t}
spec:
  target: {local: {pid: 1}}
  steps:
    - deadline: 2s
      parallel:
        - stressCpu: {workers: 1, load: 5}
          duration: 10s
        - suspend: 30s
");
    let [Step::Parallel(g)] = e.spec.steps.as_slice() else {
        panic!()
    };
    assert_eq!(g.deadline, Some(Duration::from_secs(2)));
    round_trips(&e);
}
