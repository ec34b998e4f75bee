//! Test fixtures shared by the service's integration tests: real processes on loopback
//! (a Python HTTP server, Prometheus) behind guards that kill them even on failure.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and continued first, in case a test paused it) on drop.
pub struct Proc(pub Child);

impl Proc {
    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGCONT first: a stopped process does not die of SIGKILL until it is continued.
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The one-letter state of a process (`R`, `S`, `T`, ...) from `/proc/PID/stat`.
pub fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// A `sleep 600` to aim faults at.
pub fn sleeper() -> Proc {
    Proc(
        Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("spawn sleep"),
    )
}

/// A Python HTTP server serving `dir` on a loopback port, answering before it returns.
pub fn http_server(dir: &Path) -> (Proc, u16) {
    // Port 0, and the port read back from the server's first line: a port picked here
    // and handed over could be taken meanwhile (another test's server, a client's
    // ephemeral port), and waiting for it then found the other listener, not this one.
    let mut child = Command::new("python3")
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the test's HTTP server");
    let stdout = child.stdout.take().expect("piped stdout");
    let p = Proc(child);
    // "Serving HTTP on 127.0.0.1 port 45678 (http://127.0.0.1:45678/) ..."
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("the HTTP server's first line");
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no port in the HTTP server's first line: {line:?}"));
    wait_for_port(port);
    (p, port)
}

/// A web server (see [`http_server`]) serving an empty directory of its own, removed
/// after the server. For tests whose checks time the server: a listing of /tmp costs
/// CPU that grows with whatever the machine keeps there.
pub struct EmptySite {
    pub proc: Proc,
    _dir: tempfile::TempDir,
}

impl EmptySite {
    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// [`http_server`] on an empty directory.
pub fn empty_http_server() -> (EmptySite, u16) {
    let dir = tempfile::tempdir().expect("a tempdir for the test's site");
    let (proc, port) = http_server(dir.path());
    (EmptySite { proc, _dir: dir }, port)
}

/// Waits until something accepts connections on `port` (20 s at most: a loaded CI
/// machine can take that long to start a Python server).
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on port {port} after 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A real Prometheus on a loopback port with `config` (and `rules`, written next to it as
/// `rules.yml`); killed on drop.
pub struct Prometheus {
    _proc: Proc,
    /// Its base URL.
    pub url: String,
    _dir: tempfile::TempDir,
}

/// Starts Prometheus, or returns `None` (printing why) when it is not installed.
pub async fn start_prometheus(config: &str, rules: Option<&str>) -> Option<Prometheus> {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED: `prometheus` is not installed (apt-get install prometheus; ./test.sh does it)"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    if let Some(r) = rules {
        std::fs::write(dir.path().join("rules.yml"), r).unwrap();
    }
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let prom = Prometheus {
        _proc: Proc(child),
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{}/-/ready", prom.url)).send().await
            && r.status().is_success()
        {
            return Some(prom);
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not become ready in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
