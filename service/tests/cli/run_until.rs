//! `faultline run` on a fault without duration (`untilAborted`, a Chaos Mesh chaos without
//! `duration`): it holds until Ctrl-C, which recovers it and ends the run `aborted`, the
//! warning note printed with the run's events.

use std::process::{Command, Stdio};
use std::time::Duration;

use faultline_test_support::{Proc, proc_state, sleeper, wait_for};

#[test]
fn ctrl_c_ends_a_fault_without_duration() {
    let state = tempfile::tempdir().unwrap();
    let victim = sleeper();
    let pid = victim.pid();
    let spec = state.path().join("until.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: until-aborted }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - processPause: {{}}\n      untilAborted: true\n"
        ),
    )
    .unwrap();
    let out = state.path().join("out.txt");
    let run = Proc(
        Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["run", "--state-dir"])
            .arg(state.path().join("state"))
            .arg(&spec)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the pause to be applied", Duration::from_secs(20), || {
        proc_state(pid) == 'T'
    });
    // Held, not recovered at once.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(proc_state(pid), 'T');
    let sent = Command::new("kill")
        .args(["-INT", &run.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut run = run;
    let code = run.0.wait().unwrap().code();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert_ne!(proc_state(pid), 'T', "the pause outlived Ctrl-C:\n{text}");
    for needle in [
        "processPause has no duration; it holds until the run is aborted, at most 1h (guard.maxDuration)",
        "recovered: removed",
        "verdict: aborted — interrupted (Ctrl-C)",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}
