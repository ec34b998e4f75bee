//! Status checks: the native `check:` step and Chaos Mesh's StatusCheck (workflow template
//! and standalone kind), decoded into the same step; bad ones are refused naming the
//! field and its line.

use faultline_spec::{CheckMode, Step, load_str};

/// The errors of `yaml` as `(line, path, message)`.
fn errors(yaml: &str) -> Vec<(usize, String, String)> {
    let e = load_str(yaml, "t.yaml").expect_err("must be refused");
    e.errors
        .into_iter()
        .map(|e| (e.line, e.path, e.message))
        .collect()
}

fn workflow(status_check: &str) -> String {
    format!(
        "apiVersion: chaos-mesh.org/v1alpha1
kind: Workflow
metadata: {{ name: gate }}
spec:
  entry: gate-health
  templates:
    - name: gate-health
      templateType: StatusCheck
      deadline: 20s
      statusCheck:
{status_check}"
    )
}

const GOOD_HTTP: &str = "        http:\n          url: http://10.1.2.3:8080/ok\n          criteria: { statusCode: \"200-400\" }\n";

#[test]
fn a_workflow_status_check_imports_with_chaos_mesh_defaults() {
    let yaml = workflow(&format!("        type: HTTP\n{GOOD_HTTP}"));
    let exp = load_str(&yaml, "t.yaml").unwrap().remove(0);
    let Step::Check(c) = &exp.spec.steps[0] else {
        panic!("{:?}", exp.spec.steps)
    };
    assert_eq!(c.name, "gate-health");
    assert_eq!(
        c.mode,
        CheckMode::UntilDecided,
        "Synchronous is the default"
    );
    assert_eq!(c.every.to_string(), "10s");
    assert_eq!(c.http.timeout.to_string(), "1s");
    assert_eq!((c.success_threshold, c.failure_threshold), (1, 3));
    assert_eq!(c.for_.map(|d| d.to_string()).as_deref(), Some("20s"));
    assert!(c.http.status.accepts(400) && !c.http.status.accepts(401));
    assert!(!c.abort_run);
}

#[test]
fn the_standalone_kind_is_an_experiment_of_one_check_bounded_by_its_duration() {
    let yaml = "apiVersion: chaos-mesh.org/v1alpha1
kind: StatusCheck
metadata: { name: shop-probe }
spec:
  mode: Continuous
  type: HTTP
  duration: 45s
  intervalSeconds: 2
  http:
    url: http://10.1.2.3/
    method: POST
    body: ping
    criteria: { statusCode: \"204\" }
";
    let exp = load_str(yaml, "t.yaml").unwrap().remove(0);
    assert_eq!(exp.spec.check_steps().len(), 1);
    let c = exp.spec.check_steps()[0];
    assert_eq!(c.name, "shop-probe");
    assert_eq!(c.mode, CheckMode::Continuous);
    assert_eq!(c.for_.map(|d| d.to_string()).as_deref(), Some("45s"));
    assert_eq!(c.http.body.as_deref(), Some("ping"));
}

#[test]
fn chaos_mesh_status_check_errors_name_the_field_and_line() {
    let bad_range = workflow(
        "        type: HTTP\n        http:\n          url: http://10.1.2.3/\n          criteria: { statusCode: \"400-200\" }\n",
    );
    assert_eq!(
        errors(&bad_range),
        vec![(
            14,
            "spec.templates[0].statusCheck.http.criteria.statusCode".into(),
            "`400-200`: the range is empty: 400 is above 200".into()
        )]
    );
    let bad_mode = workflow(&format!("        mode: Eventually\n{GOOD_HTTP}"));
    assert_eq!(
        errors(&bad_mode),
        vec![(
            11,
            "spec.templates[0].statusCheck.mode".into(),
            "`Eventually` is not allowed; allowed: Synchronous, Continuous".into()
        )]
    );
    let bad_type = workflow(&format!("        type: TCP\n{GOOD_HTTP}"));
    assert_eq!(
        errors(&bad_type),
        vec![(
            11,
            "spec.templates[0].statusCheck.type".into(),
            "`TCP` is not allowed; allowed: HTTP".into()
        )]
    );
    let zero = workflow(&format!(
        "        failureThreshold: 0\n        successThreshold: -1\n{GOOD_HTTP}"
    ));
    assert_eq!(
        errors(&zero),
        vec![
            (
                11,
                "spec.templates[0].statusCheck.failureThreshold".into(),
                "0 is out of range; allowed 1 to 1000000".into()
            ),
            (
                12,
                "spec.templates[0].statusCheck.successThreshold".into(),
                "-1 is out of range; allowed 1 to 1000000".into()
            )
        ]
    );
    let no_http = workflow("        type: HTTP\n");
    assert_eq!(errors(&no_http)[0].1, "spec.templates[0].statusCheck.http");
}

fn native(check: &str) -> String {
    format!(
        "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: n }}
spec:
  steps:
    - check:
{check}"
    )
}

#[test]
fn native_check_steps_decode_and_their_errors_name_the_field_and_line() {
    let ok = native(
        "        name: api\n        http: { url: \"http://127.0.0.1:1/\", status: 204, headers: { X-A: b } }\n        mode: continuous\n        for: 30s\n        abortRun: true\n",
    );
    let exp = load_str(&ok, "t.yaml").unwrap().remove(0);
    let c = exp.spec.check_steps()[0];
    assert_eq!(c.http.headers["X-A"], ["b"]);
    assert!(c.abort_run && c.mode == CheckMode::Continuous);
    // What --explain prints back decodes to the same experiment.
    let again = faultline_spec::yaml::to_yaml(&exp).unwrap();
    assert_eq!(load_str(&again, "again.yaml").unwrap().remove(0), exp);

    let bad = native(
        "        name: api\n        http: { url: \"http://127.0.0.1:1/\", status: \"2xx\" }\n        mode: sometimes\n        successThreshold: 0\n",
    );
    let got = errors(&bad);
    assert_eq!(
        got,
        vec![
            (
                8,
                "spec.steps[0].check.http.status".into(),
                "`2xx`: not a status code nor a range of them".into()
            ),
            (
                9,
                "spec.steps[0].check.mode".into(),
                "`sometimes` is not allowed; allowed: untilDecided, continuous".into()
            ),
            (
                10,
                "spec.steps[0].check.successThreshold".into(),
                "0 is out of range; allowed 1 to 1000000".into()
            ),
        ]
    );
    let beside = native(
        "        name: api\n        http: { url: \"http://127.0.0.1:1/\" }\n      duration: 5s\n",
    );
    assert_eq!(
        errors(&beside),
        vec![(
            9,
            "spec.steps[0].duration".into(),
            "`duration` does not apply to a `check` step".into()
        )]
    );
}
