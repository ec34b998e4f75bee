//! `faultline demo` end to end, as the README runs it: three experiments against a web
//! server in a fresh network namespace reach passed, failed and aborted, and nothing is
//! left behind — not in the agent's journal, not in the kernel.

use std::process::Command;

#[test]
fn the_demo_shows_every_verdict_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["demo", "--state-dir", dir.path().to_str().unwrap()])
        .output()
        .expect("run faultline demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "demo-cpu-stress    passed",
        "demo-bandwidth     failed",
        "demo-partition     aborted",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    assert!(
        stdout.contains("faults still active after the demo: 0"),
        "{stdout}"
    );
    // The kernel agrees: the sandbox namespace (and with it its qdiscs and nft table) is gone.
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&netns.stdout).contains("fl-demo-"),
        "demo netns left behind"
    );
    let reports = std::fs::read_dir(dir.path().join("demo/reports"))
        .unwrap()
        .count();
    assert_eq!(reports, 3, "one report folder per run");
}
