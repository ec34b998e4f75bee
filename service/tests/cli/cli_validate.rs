//! The built `faultline` binary: exit codes and output of `validate` on valid, invalid and
//! as-printed files, `--explain` in both formats, and the not-yet-built subcommands.

use std::path::PathBuf;
use std::process::{Command, Output};

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run faultline")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn valid_files_exit_0() {
    let out = faultline(&[
        "validate",
        "examples/chaos-mesh/stress-cpu.yaml",
        "examples/chaos-mesh/stress-memory.yaml",
        "examples/chaos-mesh/network-delay.yaml",
        "examples/chaos-mesh/workflow.yaml",
        "examples/native/checkout-under-stress.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).matches(": ok (1 experiment)").count(),
        5,
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn as_printed_files_exit_2_with_every_error_located() {
    let out = faultline(&[
        "validate",
        "examples/chaos-mesh/as-printed/stress-memory.yaml",
        "examples/chaos-mesh/as-printed/stress-cpu.yaml",
        "examples/chaos-mesh/as-printed/network-delay.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for needle in [
        "examples/chaos-mesh/as-printed/stress-memory.yaml:14:3: spec.labelSelectors: unknown field; `labelSelectors` belongs under `spec.selector`; indent it under `selector:`",
        "examples/chaos-mesh/as-printed/stress-cpu.yaml:20:7: spec.stressors.cpu.duration: unknown field; `duration` belongs under `spec`",
        "examples/chaos-mesh/as-printed/network-delay.yaml:22:5: spec.delay.direction: unknown field",
        "3 of 3 file(s) invalid",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
}

#[test]
fn one_bad_file_among_good_ones_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: b}\nspec:\n  target: {local: {pid: 1}}\n  steps:\n    - networkDelay: {latncy: 10ms}\n      duration: 1s\n",
    )
    .unwrap();
    let out = faultline(&[
        "validate",
        "examples/chaos-mesh/stress-cpu.yaml",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:7:22: spec.steps[0].networkDelay.latncy: unknown field; did you mean `latency`?"), "{err}");
    assert!(
        err.contains("bad.yaml:7:21: spec.steps[0].networkDelay.latency: missing required field"),
        "{err}"
    );
    assert!(text(&out.stdout).contains("stress-cpu.yaml: ok"));
}

#[test]
fn garbage_and_missing_files_exit_2_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("garbage.yaml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x41, 0x80]).unwrap();
    let out = faultline(&["validate", bin.to_str().unwrap(), "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(
        err.contains("no/such/file.yaml:1:1: cannot read the file"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn explain_prints_the_native_form_in_yaml_and_json() {
    let out = faultline(&["validate", "--explain", "examples/chaos-mesh/workflow.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let y = text(&out.stdout);
    assert!(
        y.starts_with("---\napiVersion: faultline.dev/v1alpha1\nkind: Experiment\n"),
        "{y}"
    );
    assert!(
        y.contains("- suspend: 1m") && y.contains("podKill: {}") && y.contains("podFailure: {}"),
        "{y}"
    );
    // The printed YAML is itself a valid native experiment.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("explained.yaml");
    std::fs::write(&f, &y).unwrap();
    let again = faultline(&["validate", f.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));

    let out = faultline(&[
        "validate",
        "--explain",
        "--format",
        "json",
        "examples/chaos-mesh/network-delay.yaml",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["spec"]["steps"][0]["networkDelay"]["latency"], "10ms");
    assert_eq!(v["spec"]["target"]["mode"], "all");
}

#[test]
fn run_and_recover_report_bad_input_and_an_empty_journal() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let out = faultline(&["run", "--state-dir", state, "no-such-file.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing file is not a verdict"
    );
    assert!(
        text(&out.stderr).contains("no-such-file.yaml"),
        "{}",
        text(&out.stderr)
    );
    let out = faultline(&[
        "run",
        "--state-dir",
        state,
        "examples/chaos-mesh/as-printed/stress-memory.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("stress-memory.yaml:14:3"),
        "{}",
        text(&out.stderr)
    );
    let out = faultline(&[
        "run",
        "--dry-run",
        "--state-dir",
        state,
        "examples/chaos-mesh/workflow.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let plan = text(&out.stdout);
    let kill = plan.find("podKill").expect("the plan lists pod-kill");
    let failure = plan.find("podFailure").expect("the plan lists pod-failure");
    assert!(kill < failure, "workflow order is kept: {plan}");
    // A chaos without `duration` is planned as what it is: until aborted, with its bound.
    let out = faultline(&[
        "run",
        "--dry-run",
        "--state-dir",
        state,
        "examples/chaos-mesh/stress-no-duration.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("until aborted (at most 1h)"),
        "{}",
        text(&out.stdout)
    );
    let out = faultline(&["recover", "--state-dir", state]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("nothing to recover"),
        "{}",
        text(&out.stdout)
    );
    let v = faultline(&["version"]);
    assert_eq!(v.status.code(), Some(0));
    assert!(text(&v.stdout).contains("reads chaos-mesh.org/v1alpha1 Workflow"));
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for cmd in [
        "validate", "run", "demo", "serve", "trigger", "recover", "version",
    ] {
        let out = faultline(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        assert!(
            text(&out.stdout).contains("Example"),
            "{cmd} --help has no example"
        );
    }
    let out = faultline(&[
        "--log-format",
        "json",
        "-v",
        "validate",
        "examples/chaos-mesh/stress-cpu.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let first = text(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        serde_json::from_str::<serde_json::Value>(&first).is_ok(),
        "not a JSON log line: {first}"
    );
}

#[test]
fn chaos_without_duration_validates_with_one_warning_and_explains_until_aborted() {
    let files = [
        "examples/chaos-mesh/stress-no-duration.yaml",
        "examples/chaos-mesh/network-no-duration.yaml",
    ];
    let out = faultline(&["validate", files[0], files[1]]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for f in files {
        let warnings: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with(&format!("{f}: warning:")))
            .collect();
        assert_eq!(warnings.len(), 1, "{err}");
        assert!(
            warnings[0].contains("1 fault step without `duration` holds until the run is aborted")
                && warnings[0].contains("default 1h"),
            "{}",
            warnings[0]
        );
    }
    assert_eq!(
        text(&out.stdout).matches(": ok (1 experiment)").count(),
        2,
        "{}",
        text(&out.stdout)
    );
    // No warning for a chaos with a duration.
    let out = faultline(&["validate", "examples/chaos-mesh/network-delay.yaml"]);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );

    let out = faultline(&["validate", "--explain", files[0]]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let y = text(&out.stdout);
    assert!(
        y.contains("untilAborted: true") && !y.contains("duration:"),
        "{y}"
    );
    // The explained form reads back, and keeps the warning.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("explained.yaml");
    std::fs::write(&f, &y).unwrap();
    let again = faultline(&["validate", f.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("warning:"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn a_serial_template_deadline_explains_as_a_group_deadline() {
    let out = faultline(&[
        "validate",
        "--explain",
        "examples/chaos-mesh/workflow-deadline.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let y = text(&out.stdout);
    assert!(y.contains("deadline: 4m") && y.contains("serial:"), "{y}");
}

#[test]
fn bad_max_duration_is_refused_naming_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(
        &f,
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: b}\nspec:\n  guard:\n    maxDuration: 0s\n  target: {local: {pid: 1}}\n  steps:\n    - stressCpu: {workers: 1, load: 5}\n      untilAborted: true\n",
    )
    .unwrap();
    let out = faultline(&["validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml:6:18: spec.guard.maxDuration: must be longer than 0s"),
        "{err}"
    );
    // The serve setting: from a flag, and from a config file with its line.
    let state = dir.path().join("state");
    let out = faultline(&[
        "serve",
        "--insecure-no-auth",
        "--state-dir",
        state.to_str().unwrap(),
        "--max-duration=soon",
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("--max-duration (or FAULTLINE_MAX_DURATION): `soon`"),
        "{err}"
    );
    let conf = dir.path().join("serve.yaml");
    std::fs::write(&conf, "listen: 127.0.0.1:0\nmaxDuration: 0s\n").unwrap();
    let out = faultline(&[
        "serve",
        "--insecure-no-auth",
        "--state-dir",
        state.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("serve.yaml:2:14: maxDuration: `0s`: must be longer than 0s"),
        "{err}"
    );
}
