//! P7: the same one-fault experiment end to end through `faultline run` and through Chaos
//! Toolkit (`chaos run`, PyPI `chaostoolkit`), side by side in one run, alternating.
//!
//! The experiment, in both tools: an HTTP probe of a loopback server (expects 200) as the
//! steady state before, a SIGKILL of a victim `sleep` process, the same probe after; no
//! pauses, no fault duration. The only sleeps the experiment asks for are faultline's probe
//! interval: it judges an HTTP check on 3 requests `every` apart (Chaos Toolkit on one), so
//! with `every: 10ms` that is 2 x 2 x 10 ms, subtracted from its wall time; the rest of the
//! wall time is each tool's overhead. Each run gets a fresh victim; a run counts
//! only when the tool exits 0 (faultline: verdict passed; Chaos Toolkit: journal status
//! `completed`, not deviated) and the victim really died of SIGKILL.
//!
//! Measured per run, from /proc every 1 ms over the tool's whole process tree (every
//! descendant, e.g. Chaos Toolkit's `kill` child): wall time from spawn to exit; peak RSS,
//! the largest process's `VmHWM` (the kernel's high-water mark, what `time -v` reports);
//! and the peak of the tree's summed PSS (shared pages counted once — summed RSS would
//! count a forked child's copy-on-write pages twice). Goal: >= 10x less overhead, >= 5x
//! less peak RSS.
//!
//! Chaos Toolkit is found as `$FAULTLINE_BENCH_CHAOS`, else `chaos` on the PATH (give the
//! real script, not a pyenv shim: a shim adds two shells to its tree). `./bench.sh`
//! installs it with pip when missing.
//!
//! `cargo bench -p faultline --bench vs_chaostoolkit`

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use faultline_test_support::Proc;
use faultline_test_support::bench::{Measured, SAMPLE_EVERY, measure, measured_exe, mib, report};
use faultline_test_support::fakes::http_ok_server;

/// Measured runs of each tool (3 under `--quick`), after one warm-up run each.
const RUNS: usize = 10;
/// faultline's probe interval in the experiment.
const EVERY_MS: u64 = 10;
/// Requests faultline takes per HTTP judgement (`HTTP_SAMPLES_PER_JUDGEMENT` in
/// `checks/evaluate.rs`), `every` apart.
const SAMPLES_PER_JUDGEMENT: u64 = 3;

/// Sleeps the experiment itself asks for, subtracted from the wall time: faultline waits
/// `every` between a judgement's requests, in 2 phases; Chaos Toolkit's probe is one request.
fn own_sleeps(tool: Tool) -> Duration {
    match tool {
        Tool::Faultline => Duration::from_millis(2 * (SAMPLES_PER_JUDGEMENT - 1) * EVERY_MS),
        Tool::ChaosToolkit => Duration::ZERO,
    }
}

/// The experiment, shared with `build-support/order/profile.sh`.
const FAULTLINE_EXPERIMENT: &str = include_str!("../../bench/p7-experiment.yaml");

fn faultline_experiment(url: &str, pid: u32) -> String {
    // The wall-time correction (`own_sleeps`) assumes this interval.
    assert!(
        FAULTLINE_EXPERIMENT.contains(&format!("every: {EVERY_MS}ms")),
        "bench/p7-experiment.yaml: every is not {EVERY_MS}ms"
    );
    FAULTLINE_EXPERIMENT
        .replace("${URL}", url)
        .replace("${PID}", &pid.to_string())
}

fn chaos_experiment(url: &str, pid: u32) -> String {
    serde_json::json!({
        "version": "1.0.0",
        "title": "bench-kill",
        "description": "HTTP probe, SIGKILL a process, HTTP probe",
        "steady-state-hypothesis": {
            "title": "web up",
            "probes": [{
                "type": "probe",
                "name": "web-up",
                "tolerance": 200,
                "provider": { "type": "http", "url": url, "timeout": 2 }
            }]
        },
        "method": [{
            "type": "action",
            "name": "kill-victim",
            "provider": { "type": "process", "path": "kill", "arguments": ["-9", pid.to_string()] }
        }],
        "rollbacks": []
    })
    .to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Faultline,
    ChaosToolkit,
}

/// The two tools' executables: faultline's as it ships (when bench.sh built it), Chaos
/// Toolkit's `chaos` script.
struct Tools {
    faultline: std::path::PathBuf,
    chaos: String,
}

/// One run of `tool` against a fresh victim, checked.
fn one_run(tool: Tool, dir: &Path, url: &str, tools: &Tools, n: usize) -> Measured {
    let mut victim = Proc::spawn(Command::new("sleep").arg("600"));
    let out = dir.join(format!("run-{n}.log"));
    let log = std::fs::File::create(&out).expect("log file");
    let mut cmd = match tool {
        Tool::Faultline => {
            let exp = dir.join("experiment.yaml");
            std::fs::write(&exp, faultline_experiment(url, victim.pid())).expect("experiment");
            let mut c = Command::new(&tools.faultline);
            // One state dir for every run, as on a user's machine.
            c.arg("run")
                .arg("--state-dir")
                .arg(dir.join("faultline-state"))
                .arg(&exp);
            c
        }
        Tool::ChaosToolkit => {
            let exp = dir.join("experiment.json");
            std::fs::write(&exp, chaos_experiment(url, victim.pid())).expect("experiment");
            let mut c = Command::new(&tools.chaos);
            c.args(["--no-version-check", "--no-log-file", "--settings"])
                .arg(dir.join("no-settings.yaml"))
                .arg("run")
                .arg("--journal-path")
                .arg(dir.join("journal.json"))
                .arg(&exp);
            c
        }
    };
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    let m = measure(&mut cmd);
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        m.status.success(),
        "{} exited {:?}:\n{}",
        name(tool),
        m.status,
        text()
    );
    if tool == Tool::ChaosToolkit {
        let journal: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("journal.json")).expect("journal"),
        )
        .expect("journal JSON");
        assert!(
            journal["status"] == "completed" && journal["deviated"] == false,
            "chaos run did not complete: status {} deviated {}",
            journal["status"],
            journal["deviated"]
        );
    }
    // The fault really happened: the victim died of SIGKILL.
    let mut waited = 0;
    let status = loop {
        if let Some(s) = victim.0.try_wait().expect("wait victim") {
            break s;
        }
        assert!(
            waited < 2000,
            "{}: victim still alive:\n{}",
            name(tool),
            text()
        );
        std::thread::sleep(Duration::from_millis(1));
        waited += 1;
    };
    assert_eq!(
        status.signal(),
        Some(9),
        "{}: victim not SIGKILLed",
        name(tool)
    );
    m
}

fn name(t: Tool) -> &'static str {
    match t {
        Tool::Faultline => "faultline run",
        Tool::ChaosToolkit => "chaos run",
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn main() {
    let chaos = std::env::var("FAULTLINE_BENCH_CHAOS").unwrap_or_else(|_| "chaos".into());
    let version = Command::new(&chaos).arg("--version").output();
    let Ok(version) = version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()) else {
        eprintln!(
            "Chaos Toolkit not found as `{chaos}`: pip install chaostoolkit (./bench.sh does)"
        );
        std::process::exit(2);
    };
    let (faultline, build) = measured_exe("faultline", env!("CARGO_BIN_EXE_faultline"));
    let tools = Tools { faultline, chaos };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = http_ok_server();
    let runs = report::reps(RUNS, 3);
    let (mut fl, mut ct) = (Vec::new(), Vec::new());
    // Warm-up (page cache, Python's bytecode cache, the faultline store), then alternate
    // so both tools see the same machine load.
    one_run(Tool::Faultline, dir.path(), &url, &tools, 0);
    one_run(Tool::ChaosToolkit, dir.path(), &url, &tools, 0);
    for i in 1..=runs {
        fl.push(one_run(Tool::Faultline, dir.path(), &url, &tools, i));
        ct.push(one_run(Tool::ChaosToolkit, dir.path(), &url, &tools, i));
    }
    let overhead = |v: &[Measured], tool| -> Vec<f64> {
        v.iter()
            .map(|m| m.wall.saturating_sub(own_sleeps(tool)).as_secs_f64() * 1e3)
            .collect()
    };
    let peak = |v: &[Measured]| -> Vec<f64> { v.iter().map(|m| mib(m.peak_rss_kib)).collect() };
    let pss = |v: &[Measured]| -> Vec<f64> { v.iter().map(|m| mib(m.peak_tree_pss_kib)).collect() };
    let (fo, co) = (
        overhead(&fl, Tool::Faultline),
        overhead(&ct, Tool::ChaosToolkit),
    );
    let (fp, cp) = (peak(&fl), peak(&ct));
    let (fs, cs) = (pss(&fl), pss(&ct));
    report::emit(
        "P7",
        "faultline_overhead",
        &format!(
            "faultline run ({build}): wall overhead (probe, processKill, probe; minus its {} ms of probe intervals)",
            own_sleeps(Tool::Faultline).as_millis()
        ),
        "ms",
        &fo,
    );
    report::emit(
        "P7",
        "chaos_overhead",
        &format!("Chaos Toolkit ({version}): wall overhead, same experiment"),
        "ms",
        &co,
    );
    report::emit(
        "P7",
        "faultline_rss",
        &format!("faultline run ({build}): peak RSS (largest process's VmHWM)"),
        "MiB",
        &fp,
    );
    report::emit(
        "P7",
        "faultline_pss",
        &format!("faultline run ({build}): peak PSS of its whole process tree"),
        "MiB",
        &fs,
    );
    report::emit(
        "P7",
        "chaos_pss",
        &format!("Chaos Toolkit ({version}): peak PSS of its whole process tree"),
        "MiB",
        &cs,
    );
    report::emit(
        "P7",
        "chaos_rss",
        &format!("Chaos Toolkit ({version}): peak RSS (largest process's VmHWM)"),
        "MiB",
        &cp,
    );
    println!(
        "\nsame experiment (HTTP probe, SIGKILL, HTTP probe), {runs} runs each, alternating; RSS sampled every {SAMPLE_EVERY:?}"
    );
    println!("| tool | overhead ms | peak RSS MiB | peak tree PSS MiB |\n|---|---|---|---|");
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{:.1} ({lo:.1}-{hi:.1})", median(v))
    };
    for (label, o, p, s) in [
        ("faultline run", &fo, &fp, &fs),
        (version.as_str(), &co, &cp, &cs),
    ] {
        println!("| {label} | {} | {} | {} |", range(o), range(p), range(s));
    }
    println!("(median, min-max)");
    println!(
        "ratios (Chaos Toolkit / faultline, medians): overhead {:.1}x (goal >= 10x), peak RSS {:.1}x (goal >= 5x), peak tree PSS {:.1}x",
        median(&co) / median(&fo),
        median(&cp) / median(&fp),
        median(&cs) / median(&fs)
    );
}
