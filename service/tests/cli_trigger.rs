//! The real binary both ways: `faultline serve` on a loopback port (in-process agent in a
//! temp state dir) and `faultline trigger --wait --junit` against it, as a GitLab job
//! would run it. Exit codes are the verdicts; the JUnit file is what GitLab would show.

mod support;

use std::process::{Command, Stdio};

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_faultline");

struct Serve {
    proc: Proc,
    base: String,
    dir: tempfile::TempDir,
}

fn serve() -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("viewer:{VIEWER}\noperator:{OPERATOR}\n")).unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--state-dir",
        ])
        .arg(dir.path().join("state"))
        .arg("--tokens-file")
        .arg(&tokens)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for_port(port);
    Serve {
        proc,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    }
}

/// Runs `faultline trigger` with `args`; returns its exit code and stdout + stderr.
fn trigger(s: &Serve, token: &str, args: &[&str]) -> (i32, String) {
    let token_file = s.dir.path().join(format!("token-{}", token.len()));
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let out = Command::new(BIN)
        .args(["trigger", "--server", &s.base, "--token-file"])
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
    let (web, port) = http_server();
    let target = sleeper();

    // Passing: a paused bystander does not hurt the web server.
    let pass = write(
        &s,
        "pass.yaml",
        &pause_yaml("ci-pass", target.0.id(), port, "1s"),
    );
    let junit = s.dir.path().join("pass.xml");
    let html = s.dir.path().join("pass.html");
    let (code, out) = trigger(
        &s,
        OPERATOR,
        &[
            "--wait",
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
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

    // Failing: pausing the web server itself breaks availability during the fault.
    let fail = write(
        &s,
        "fail.yaml",
        &pause_yaml("ci-fail", web.0.id(), port, "1500ms"),
    );
    let junit = s.dir.path().join("fail.xml");
    let (code, out) = trigger(
        &s,
        OPERATOR,
        &["--wait", "--junit", junit.to_str().unwrap(), &fail],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("verdict: failed"), "{out}");
    assert!(
        out.contains("NOT MET"),
        "the checks table shows the failure: {out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    assert_ne!(
        proc_state(web.0.id()),
        'T',
        "the web server was not resumed"
    );

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

#[test]
fn trigger_without_a_server_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.yaml");
    std::fs::write(&f, pause_yaml("x", 1, 1, "1s")).unwrap();
    let port = free_port();
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
