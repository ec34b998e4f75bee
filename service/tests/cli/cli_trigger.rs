//! The real binary both ways: `faultline serve` on a loopback port (in-process agent in a
//! temp state dir) and `faultline trigger --wait --junit --metrics` against it, as a GitLab
//! job would run it. Exit codes are the verdicts; the JUnit and metrics files are what
//! GitLab would show; `--timeout` gives up with 2 and leaves the run to the server.

use std::process::{Command, Stdio};

use crate::support::*;
use faultline_test_support::{Proc, closed_port, empty_http_server, proc_state, sleeper};

const BIN: &str = env!("CARGO_BIN_EXE_faultline");

struct Serve {
    proc: Proc,
    base: String,
    dir: tempfile::TempDir,
}

fn serve() -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("viewer:{VIEWER}\noperator:{OPERATOR}\nadmin:{ADMIN}\n"),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path().join("state"))
        .arg("--tokens-file")
        .arg(&tokens)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut proc = Proc(child);
    let port = proc.wait_listening();
    Serve {
        proc,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    }
}

/// Runs `faultline trigger` with `args`; returns its exit code and stdout + stderr.
fn trigger(s: &Serve, token: &str, args: &[&str]) -> (i32, String) {
    client_command(s, "trigger", token, args)
}

/// Runs `faultline SUBCOMMAND --server ... --token-file ... args`.
fn client_command(s: &Serve, subcommand: &str, token: &str, args: &[&str]) -> (i32, String) {
    let token_file = s.dir.path().join(format!("token-{}", &token[..5]));
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let out = Command::new(BIN)
        .args([subcommand, "--server", &s.base, "--token-file"])
        .arg(&token_file)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn write(s: &Serve, name: &str, body: &str) -> String {
    let p = s.dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

#[test]
fn trigger_wait_exits_with_the_verdict_and_writes_junit() {
    let s = serve();
    let (web, port) = empty_http_server();
    let target = sleeper();

    // Passing: a paused bystander does not hurt the web server.
    let pass = write(
        &s,
        "pass.yaml",
        &pause_yaml("ci-pass", target.0.id(), port, "1s"),
    );
    let junit = s.dir.path().join("pass.xml");
    let html = s.dir.path().join("pass.html");
    let metrics = s.dir.path().join("pass-metrics.txt");
    let (code, out) = trigger(
        &s,
        OPERATOR,
        &[
            "--wait",
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--metrics",
            metrics.to_str().unwrap(),
            &pass,
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("run ") && out.contains("/api/v1/runs/"),
        "{out}"
    );
    assert!(out.contains("verdict: passed"), "{out}");
    assert!(
        out.contains("+ processPause"),
        "progress lines from the stream: {out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite") && xml.contains("availability"),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("ci-pass"));
    assert_ne!(proc_state(target.0.id()), 'T');
    // The verdict table: a row per phase, each with the value, expectation and result.
    let table = verdict_table_of(&out);
    assert_eq!(table.len(), 3, "{out}");
    for (row, phase) in table.iter().zip(["before", "during", "after"]) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            (cols[0], cols[1], &cols[5..]),
            ("availability", phase, &[">=", "0.99", "ok"][..]),
            "{out}"
        );
        let value: f64 = cols[2].parse().unwrap();
        assert!(value >= 0.99, "{out}");
    }
    // The GitLab metrics report: every phase's value, the verdict and the duration.
    let text = std::fs::read_to_string(&metrics).unwrap();
    let series = metric_lines(&text);
    for phase in ["before", "during", "after"] {
        let key = format!(
            r#"faultline_check_value{{check="availability",experiment="ci-pass",phase="{phase}"}}"#
        );
        let value: f64 = series[&key].parse().unwrap();
        assert!(value >= 0.99, "{text}");
        let ok = key.replace("_value", "_ok");
        assert_eq!(series.get(&ok).map(String::as_str), Some("1"), "{text}");
    }
    let verdict = r#"faultline_run_verdict{experiment="ci-pass",verdict="passed"}"#;
    assert_eq!(series.get(verdict).map(String::as_str), Some("1"), "{text}");
    let secs: f64 = series[r#"faultline_run_duration_seconds{experiment="ci-pass"}"#]
        .parse()
        .unwrap();
    assert!(secs >= 1.0, "the run paused for 1s: {text}");
    assert!(text.ends_with("# EOF\n"), "{text}");

    // Failing: pausing the web server itself breaks availability during the fault.
    let fail = write(
        &s,
        "fail.yaml",
        &pause_yaml("ci-fail", web.pid(), port, "1500ms"),
    );
    let junit = s.dir.path().join("fail.xml");
    let metrics = s.dir.path().join("fail-metrics.txt");
    let (code, out) = trigger(
        &s,
        OPERATOR,
        &[
            "--wait",
            "--junit",
            junit.to_str().unwrap(),
            "--metrics",
            metrics.to_str().unwrap(),
            &fail,
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("verdict: failed"), "{out}");
    let during = verdict_table_of(&out)
        .into_iter()
        .find(|r| r.split_whitespace().nth(1) == Some("during"))
        .unwrap_or_else(|| panic!("no during row: {out}"));
    assert!(
        during.contains("NOT MET ("),
        "the checks table shows the failure: {out}"
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    let series = metric_lines(&text);
    let ok = r#"faultline_check_ok{check="availability",experiment="ci-fail",phase="during"}"#;
    assert_eq!(series.get(ok).map(String::as_str), Some("0"), "{text}");
    let min: f64 =
        series[r#"faultline_check_min{check="availability",experiment="ci-fail",phase="during"}"#]
            .parse()
            .unwrap();
    assert!(
        min < 0.99,
        "the paused server's availability dropped: {text}"
    );
    let verdict = r#"faultline_run_verdict{experiment="ci-fail",verdict="failed"}"#;
    assert_eq!(series.get(verdict).map(String::as_str), Some("1"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    assert_ne!(proc_state(web.pid()), 'T', "the web server was not resumed");

    // Invalid input and a token without the operator role: 2, with the reason.
    let bad = write(&s, "bad.yaml", &pause_yaml("bad", 1, port, "1 fortnight"));
    let (code, out) = trigger(&s, OPERATOR, &["--wait", &bad]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("bad.yaml:13:"),
        "errors name file and line: {out}"
    );
    let (code, out) = trigger(&s, VIEWER, &["--wait", &pass]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("403"), "{out}");

    // SIGTERM: the service stops cleanly.
    let mut serve = s.proc;
    let _ = Command::new("kill")
        .args(["-TERM", &serve.0.id().to_string()])
        .status();
    let status = serve.0.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
}

/// The rows of the verdict table in `out` (the lines after its header).
fn verdict_table_of(out: &str) -> Vec<String> {
    out.lines()
        .skip_while(|l| !l.starts_with("check "))
        .skip(1)
        .take_while(|l| l.starts_with(|c: char| c.is_alphanumeric()) && !l.starts_with("wrote "))
        .map(str::to_string)
        .collect()
}

/// The series of a metrics report, `name{labels}` -> value, checking that every line is
/// a comment or exactly `key value` (what GitLab's metrics parser takes).
fn metric_lines(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l}"));
            assert!(!key.contains(' ') && !l.contains('#'), "{l}");
            value.parse::<f64>().unwrap_or_else(|_| panic!("{l}"));
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn trigger_timeout_exits_2_naming_the_run_and_leaves_it_running() {
    let s = serve();
    let (_web, port) = empty_http_server();
    let target = sleeper();
    let exp = write(
        &s,
        "long.yaml",
        &pause_yaml("ci-long", target.0.id(), port, "20s"),
    );
    let junit = s.dir.path().join("long.xml");
    let metrics = s.dir.path().join("long-metrics.txt");
    let started = std::time::Instant::now();
    let (code, out) = trigger(
        &s,
        OPERATOR,
        &[
            "--wait",
            "--timeout",
            "3s",
            "--junit",
            junit.to_str().unwrap(),
            "--metrics",
            metrics.to_str().unwrap(),
            &exp,
        ],
    );
    let took = started.elapsed();
    assert_eq!(code, 2, "{out}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "gave up after {took:?}, long before the 20 s pause ended: {out}"
    );
    assert!(!out.contains("panicked"), "{out}");
    // `run ID created: URL`, then the timeout names both.
    let created = out.lines().find(|l| l.starts_with("run ")).unwrap();
    let (id, url) = created
        .strip_prefix("run ")
        .and_then(|r| r.split_once(" created: "))
        .unwrap();
    assert!(url.starts_with(&s.base) && url.ends_with(id), "{created}");
    let msg = out
        .lines()
        .find(|l| l.contains("gave up waiting after 3s"))
        .unwrap_or_else(|| panic!("no timeout message: {out}"));
    assert!(
        msg.contains(&format!("run {id} is still observing")) && msg.contains(url),
        "{msg}"
    );
    assert!(msg.contains(&format!("POST {url}/abort")), "{msg}");
    assert!(!out.contains("verdict: "), "no verdict was reached: {out}");
    // The run goes on: its fault is still applied after trigger gave up.
    assert_eq!(proc_state(target.0.id()), 'T', "the pause is still on");
    // The reports say how far it got: no verdict, so the JUnit verdict case is an error.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("name=\"verdict\"") && xml.contains("<error"),
        "{xml}"
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    let series = metric_lines(&text);
    let verdicts: Vec<&String> = series
        .iter()
        .filter(|(k, _)| k.starts_with("faultline_run_verdict{"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(verdicts, ["0", "0", "0", "0"], "{text}");
    let before = r#"faultline_check_ok{check="availability",experiment="ci-long",phase="before"}"#;
    assert_eq!(series.get(before).map(String::as_str), Some("1"), "{text}");
}

#[test]
fn trigger_without_a_server_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.yaml");
    std::fs::write(&f, pause_yaml("x", 1, 1, "1s")).unwrap();
    let (_closed, port) = closed_port();
    let out = Command::new(BIN)
        .args([
            "trigger",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--wait",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&port.to_string()), "{err}");
}

#[test]
fn serve_refuses_no_auth_off_loopback() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--insecure-no-auth",
            "--listen",
            "0.0.0.0:0",
            "--state-dir",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without authentication"), "{err}");
}

#[test]
fn stop_all_refuses_every_trigger_until_an_admin_resumes() {
    let s = serve();
    let target = sleeper();
    let (_web, port) = empty_http_server();
    let file = write(
        &s,
        "exp.yaml",
        &pause_yaml("halt-cli", target.0.id(), port, "1s"),
    );
    let (code, out) = client_command(&s, "stop-all", OPERATOR, &["--reason", "release freeze"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("emergency stop engaged") && out.contains("release freeze"),
        "{out}"
    );
    let (code, out) = trigger(&s, OPERATOR, &["--wait", &file]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("release freeze"),
        "the refusal names the stop: {out}"
    );
    let (code, out) = client_command(&s, "resume", OPERATOR, &[]);
    assert_ne!(code, 0, "only an admin releases the stop: {out}");
    assert!(out.contains("needs the admin role"), "{out}");
    let (code, out) = client_command(&s, "resume", ADMIN, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("released"), "{out}");
    let (code, out) = trigger(&s, OPERATOR, &["--wait", &file]);
    assert_eq!(code, 0, "{out}");
}
