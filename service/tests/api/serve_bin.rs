//! The real `faultline serve` for the API tests that need the binary (its flags, config
//! file, logs and start-up refusals): started with no FAULTLINE_* variable but the test's
//! own, and stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::*;
use faultline_test_support::Proc;

/// `faultline serve` with no FAULTLINE_* variable but `env`, in `dir`.
pub(crate) fn command(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut c = faultline();
    c.arg("serve").args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Starts serve and returns it with the address it says it listens on.
pub(crate) fn start(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (Proc, String) {
    let mut child = command(dir, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let addr = line
        .trim()
        .strip_prefix("faultline listening on http://")
        .map(str::to_string);
    let Some(addr) = addr else {
        drop(proc);
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(err), &mut text);
        panic!("serve did not start: {line:?}\n{text}");
    };
    (proc, addr)
}

/// Runs serve expecting it to refuse to start; returns its stderr.
pub(crate) fn refused(dir: &Path, args: &[&str], env: &[(&str, String)]) -> String {
    let mut child = Proc(
        command(dir, args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "serve started despite a bad config"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut text).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    text
}

/// The binary, with none of this process's FAULTLINE_* variables: a test sets its own.
fn faultline() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FAULTLINE_") {
            c.env_remove(k);
        }
    }
    c
}

/// `faultline serve` listening on a loopback port the kernel picks, with the three test
/// tokens, its state in `dir/state` and its stdout and stderr in `dir/serve.out` and
/// `dir/serve.log` (for the tests that read what it wrote); stopped on drop.
pub(crate) struct Serve {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its stderr: the log.
    pub log: PathBuf,
    /// Its stdout.
    pub out: PathBuf,
    _proc: Proc,
}

impl Serve {
    /// Starts it at `verbosity` (`-vv`) with `args` after the common flags. `Err` with its
    /// log when it exits at once: a config it refuses.
    pub(crate) fn start(dir: &Path, verbosity: &str, args: &[&str]) -> Result<Serve, String> {
        let tokens = dir.join("tokens");
        std::fs::write(
            &tokens,
            format!("viewer:{VIEWER}\noperator:{OPERATOR}\nadmin:{ADMIN}\n"),
        )
        .unwrap();
        let (log, out) = (dir.join("serve.log"), dir.join("serve.out"));
        let state = dir.join("state");
        let mut common = vec![verbosity, "serve", "--listen", "127.0.0.1:0"];
        common.extend([
            "--state-dir",
            path_str(&state),
            "--tokens-file",
            path_str(&tokens),
        ]);
        let mut proc = Proc(
            faultline()
                .args(common)
                .args(args)
                .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
                .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
                .spawn()
                .unwrap(),
        );
        // A refused config ends serve before it listens; give it a moment to say so.
        if let Some(status) = proc.0.try_wait().unwrap().or_else(|| {
            std::thread::sleep(Duration::from_millis(300));
            proc.0.try_wait().unwrap()
        }) {
            return Err(format!(
                "{status}: {}",
                std::fs::read_to_string(&log).unwrap()
            ));
        }
        let base = format!("http://127.0.0.1:{}", proc.wait_listening());
        Ok(Serve {
            base,
            log,
            out,
            _proc: proc,
        })
    }
}

/// A temp dir's path as the flag's text (temp dirs are UTF-8 here).
fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}
