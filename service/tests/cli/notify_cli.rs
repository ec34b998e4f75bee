//! `faultline run --notify-config`: a bad config, or an experiment whose `notify:` names a
//! channel the config cannot reach, stops the command before anything is injected, with
//! the file, line and field in the message.

use std::process::Command;

const EXPERIMENT: &str = "apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: notify-cli }
spec:
  target: { local: { pid: 1 } }
  steps:
    - name: pause
      processPause: {}
      duration: 1s
  notify: [ { slack: team-sre } ]
";

fn run(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("notify.yaml");
    let exp = dir.path().join("exp.yaml");
    std::fs::write(&cfg, config).unwrap();
    std::fs::write(&exp, EXPERIMENT).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("run")
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--notify-config")
        .arg(&cfg)
        .arg(&exp)
        .output()
        .unwrap();
    assert!(
        !dir.path().join("state").exists(),
        "nothing may start before the config is good"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_bad_config_names_file_line_and_field_and_nothing_runs() {
    let (code, err) = run(
        "email:\n  host: smtp.example.org\n  port: 0\n  from: x@example.org\nroutes:\n  - webhook: \"not a url\"\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("notify.yaml:3:9: email.port: expected a port number"),
        "{err}"
    );
    assert!(
        err.contains("notify.yaml:6:14: routes[0].webhook: malformed URL"),
        "{err}"
    );
}

#[test]
fn an_experiment_channel_the_config_cannot_reach_is_refused() {
    let (code, err) = run("slack:\n  webhooks: { other: \"https://hooks.example.org/x\" }\n");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("experiment notify-cli: spec.notify[0].slack: no incoming webhook for Slack channel \"team-sre\""),
        "{err}"
    );
}
