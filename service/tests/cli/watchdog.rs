//! `faultline run`'s watchdog: `kill -9` of the run mid-fault, and the fault is gone within
//! a second or two with nobody running `faultline recover`; the run's events say the
//! watchdog recovered it and the next `recover` finds nothing left. A clean run leaves no
//! watchdog behind. (Netem, which this kernel lacks, is checked the same way in the kernel
//! tier: `tests/kernel-tier/vm-init.sh`, `watchdog-netem`.)
//!
//! Every test proves the fault took effect, then that it was removed; a guard runs
//! `faultline recover` on the state dir (after killing a watchdog still there) if a test
//! fails half-way, and the target and the cgroup have guards of their own.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use faultline::domain::{RunEvent, RunState};
use faultline_agent::cgroup::TestCgroup;
use faultline_agent::faults::stress::worker::MARKER;
use faultline_test_support::{Proc, proc_state, sleeper, wait_for};

/// How long a test waits for the watchdog to release a target. The watchdog itself takes
/// well under a second (the tests print how long); the ceiling is wider because the unit
/// tier runs these beside hundreds of other tests on two cores, where a spawn and a
/// journal read can stall (a CI run once took over 2 s). What the tests prove is that the
/// target is released with nobody running `faultline recover`.
const RELEASED_WITHIN: Duration = Duration::from_secs(5);

const FAULTLINE: &str = env!("CARGO_BIN_EXE_faultline");

/// The watchdog processes (argv `faultline __watchdog DIR PID`) of state dir `dir`.
fn watchdogs(dir: &Path) -> Vec<u32> {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
            argv.get(1) == Some(&&b"__watchdog"[..]) && argv.get(2) == Some(&dir.as_bytes())
        })
        .collect()
}

/// The process group of `pid` (field 5 of `/proc/PID/stat`, after the parenthesised name).
fn process_group(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(2).unwrap().parse().unwrap()
}

/// A state dir that is recovered on drop, whatever the test got to.
struct State(tempfile::TempDir);

impl State {
    fn new() -> State {
        State(tempfile::tempdir().unwrap())
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn experiment(&self, name: &str, yaml: &str) -> std::path::PathBuf {
        let file = self.path().join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        file
    }

    /// `faultline run` on `file` in the background, in a process group of its own (so
    /// that the test can kill the group).
    fn start(&self, file: &Path) -> Proc {
        Proc::spawn(
            Command::new(FAULTLINE)
                .args(["run", "--lease", "10m", "--state-dir"])
                .arg(self.path())
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0),
        )
    }

    /// `faultline recover`'s output.
    fn recover(&self) -> String {
        let out = Command::new(FAULTLINE)
            .args(["recover", "--state-dir"])
            .arg(self.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The killed run's row and events, once the watchdog has ended it.
    fn killed_run(&self, experiment: &str) -> (faultline::domain::RunRow, Vec<RunEvent>) {
        let store = faultline::store::Store::open(&self.path().join("faultline.db")).unwrap();
        let run = store
            .list_runs(10)
            .unwrap()
            .into_iter()
            .find(|r| r.experiment == experiment)
            .unwrap();
        let events = store
            .events(&run.id)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        (run, events)
    }
}

impl Drop for State {
    fn drop(&mut self) {
        for pid in watchdogs(self.path()) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = Command::new(FAULTLINE)
            .args(["recover", "--state-dir"])
            .arg(self.path())
            .output();
    }
}

/// The killed run ended `error`, said why, and recorded its faults recovered; nothing is
/// left for `faultline recover`, and the watchdog has exited.
fn check_recorded(state: &State, experiment: &str) {
    wait_for("the watchdog to finish", Duration::from_secs(10), || {
        watchdogs(state.path()).is_empty()
    });
    let (run, events) = state.killed_run(experiment);
    assert_eq!(run.state, RunState::Error, "{run:?}");
    assert!(
        run.reason.contains("killed") && run.reason.contains("watchdog"),
        "{}",
        run.reason
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RunEvent::FaultRecovered { .. })),
        "{events:?}"
    );
    let out = state.recover();
    assert!(out.contains("nothing to recover"), "{out}");
}

fn pause_experiment(name: &str, pid: u32) -> String {
    format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: {name} }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - processPause: {{}}\n      duration: 10m\n"
    )
}

/// Kills `run` (or its whole process group) with SIGKILL and reaps it.
fn kill_9(mut run: Proc, group: bool) {
    let pid = run.pid();
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    let status = Command::new("kill")
        .args(["-9", "--", &target])
        .status()
        .unwrap();
    assert!(status.success());
    run.0.wait().unwrap();
}

#[test]
fn kill_9_mid_pause_the_watchdog_resumes_the_process_within_seconds() {
    let state = State::new();
    let victim = sleeper();
    let pid = victim.pid();
    let run = state.start(&state.experiment("pause", &pause_experiment("wd-pause", pid)));
    wait_for("the pause to be applied", Duration::from_secs(20), || {
        proc_state(pid) == 'T'
    });
    assert_eq!(watchdogs(state.path()).len(), 1, "armed at the injection");
    kill_9(run, false);
    // Nobody runs `faultline recover`: the watchdog does it.
    let took = wait_for("the process to run again", RELEASED_WITHIN, || {
        proc_state(pid) != 'T'
    });
    eprintln!("paused process running again {took:?} after kill -9");
    check_recorded(&state, "wd-pause");
    drop(victim);
}

#[test]
fn kill_9_of_the_runs_process_group_spares_the_watchdog_in_its_own_group() {
    let state = State::new();
    let victim = sleeper();
    let pid = victim.pid();
    let run = state.start(&state.experiment("pause", &pause_experiment("wd-group", pid)));
    wait_for("the pause to be applied", Duration::from_secs(20), || {
        proc_state(pid) == 'T'
    });
    // Out of the run's group from the moment it exists (set before exec), not once its
    // own code gets to run: otherwise this kill can come first and take it along.
    let watchdog = watchdogs(state.path());
    assert_eq!(watchdog.len(), 1, "armed at the injection");
    assert_eq!(
        process_group(watchdog[0]),
        watchdog[0],
        "its own process group"
    );
    kill_9(run, true);
    wait_for("the process to run again", RELEASED_WITHIN, || {
        proc_state(pid) != 'T'
    });
    check_recorded(&state, "wd-group");
    drop(victim);
}

#[test]
fn kill_9_mid_stress_the_cgroups_stress_workers_are_gone() {
    let state = State::new();
    let tag = format!("fltest-{}-wd-stress", std::process::id());
    let cgroup = TestCgroup::create(&tag, &["cpu", "cpuacct", "memory"], false).unwrap();
    let victim = sleeper();
    let pid = victim.pid();
    cgroup.add(pid).unwrap();
    let exp = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: wd-stress }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - stressCpu: {{ workers: 2, load: 10 }}\n      duration: 10m\n"
    );
    let run = state.start(&state.experiment("stress", &exp));
    let is_worker = |p: &u32| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).nth(1) == Some(MARKER.as_bytes()))
    };
    wait_for(
        "2 stress workers in the cgroup",
        Duration::from_secs(20),
        || cgroup.members().iter().filter(|p| is_worker(p)).count() == 2,
    );
    kill_9(run, false);
    wait_for("the cgroup's stress workers gone", RELEASED_WITHIN, || {
        cgroup.members() == vec![pid]
    });
    check_recorded(&state, "wd-stress");
    drop(victim);
    drop(cgroup);
}

#[test]
fn a_clean_run_leaves_no_watchdog_behind_and_a_run_that_injects_nothing_arms_none() {
    let state = State::new();
    let victim = sleeper();
    let pid = victim.pid();
    let short = format!(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{ name: wd-clean }}\nspec:\n  target: {{ local: {{ pid: {pid} }} }}\n  steps:\n    - processPause: {{}}\n      duration: 300ms\n"
    );
    let file = state.experiment("clean", &short);
    let mut run = state.start(&file);
    wait_for("the pause to be applied", Duration::from_secs(20), || {
        proc_state(pid) == 'T'
    });
    assert_eq!(watchdogs(state.path()).len(), 1, "armed at the injection");
    assert!(run.0.wait().unwrap().success());
    assert_ne!(proc_state(pid), 'T');
    assert_eq!(
        watchdogs(state.path()),
        Vec::<u32>::new(),
        "the run waits for its watchdog's exit"
    );
    // A run of checks and instant faults only: nothing to watch.
    let kill_only = state.experiment(
        "noop",
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: { name: wd-noop }\nspec:\n  steps:\n    - suspend: 300ms\n",
    );
    let mut run = state.start(&kill_only);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(watchdogs(state.path()), Vec::<u32>::new());
    assert!(run.0.wait().unwrap().success());
    let (row, _) = state.killed_run("wd-clean");
    assert_eq!(row.state, RunState::Passed, "{row:?}");
    drop(victim);
}
