//! `faultline run` killed with -9 mid-fault *together with its watchdog* (`watchdog.rs`
//! covers the run killed alone): the fault outlives the process (nothing is left to remove
//! it), then `faultline recover` removes it from the journal, and the next `faultline run`
//! marks the interrupted run `error` instead of leaving it running forever.

use std::process::{Command, Stdio};
use std::time::Duration;

use faultline_test_support::{Proc, proc_state, sleeper, wait_for};

fn faultline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
}

#[test]
fn a_killed_run_is_recovered_from_the_journal_and_ends_in_error() {
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();
    let victim = sleeper();
    let pid = victim.pid();
    let spec = state.path().join("pause.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: long-pause }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - processPause: {{}}\n      duration: 10m\n"
        ),
    )
    .unwrap();

    let run = Proc(
        faultline()
            .args(["run", "--lease", "10m", "--state-dir", &state_dir])
            .arg(&spec)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the pause to be applied", Duration::from_secs(20), || {
        proc_state(pid) == 'T'
    });
    // The watchdog first (as a cgroup-wide kill would), so nothing is left to recover.
    let mut watchdogs = 0;
    for pid in std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
    {
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
        if argv.get(1) == Some(&&b"__watchdog"[..]) && argv.get(2) == Some(&state_dir.as_bytes()) {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            watchdogs += 1;
        }
    }
    assert_eq!(watchdogs, 1, "the run armed one watchdog");
    let mut run = run;
    run.0.kill().unwrap(); // SIGKILL: no chance to recover anything
    run.0.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        proc_state(pid),
        'T',
        "with the runner dead, only the journal knows about the fault"
    );

    let out = faultline()
        .args(["recover", "--state-dir", &state_dir])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("recovered"), "{text}");
    wait_for("the process to run again", Duration::from_secs(20), || {
        proc_state(pid) != 'T'
    });

    // The next run notices the interrupted one and ends it in error, with the reason.
    let out = faultline()
        .args(["run", "--dry-run", "--state-dir", &state_dir])
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let empty = state.path().join("empty.yaml");
    std::fs::write(&empty, "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: { name: noop }\nspec:\n  steps:\n    - suspend: 10ms\n").unwrap();
    let out = faultline()
        .args(["run", "--state-dir", &state_dir])
        .arg(&empty)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("marked 1 interrupted run(s) as error"),
        "{text}"
    );
    let store = faultline::store::Store::open(&state.path().join("faultline.db")).unwrap();
    let runs = store.list_runs(10).unwrap();
    let killed = runs.iter().find(|r| r.experiment == "long-pause").unwrap();
    assert_eq!(killed.state, faultline::domain::RunState::Error);
    assert!(killed.reason.contains("killed"), "{}", killed.reason);
    drop(victim);
}
