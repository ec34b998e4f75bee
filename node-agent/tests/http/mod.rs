//! What the HTTP fault tests share: the real Python server (`server.py`, plain or HTTPS)
//! in a namespace, curl from another namespace and what it saw, and what of a fault is
//! left in a namespace (nft tables, fwmark rules for both IP versions). Each guard
//! removes what it started when dropped, also when a test fails.
#![allow(dead_code)] // each test binary uses a different part

pub mod h2c;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faultline_spec::fault::{HttpAbort, HttpDelay, HttpMatch, HttpReset, HttpTarget};
use faultline_test_support::sh;

/// The Python server in a namespace; killed on drop.
pub struct PyServer(Child);

impl PyServer {
    /// `server.py ADDR PORT [CERT KEY]` in the namespace `ns`, once `ready` says so
    /// (within 10 s).
    pub fn start(
        ns: &str,
        addr: &str,
        port: u16,
        tls: Option<(&Path, &Path)>,
        ready: impl Fn() -> bool,
    ) -> PyServer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http/server.py");
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns,
            "python3",
            script,
            addr,
            &port.to_string(),
        ]);
        if let Some((cert, key)) = tls {
            cmd.args([cert, key]);
        }
        let child = cmd.stdout(Stdio::null()).spawn().expect("python3 runs");
        let server = PyServer(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready() {
            assert!(
                Instant::now() < deadline,
                "the server on {addr}:{port} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What curl saw.
#[derive(Debug)]
pub struct Seen {
    /// curl's exit code (0 ok, 7 refused, 35 TLS handshake, 56 reset).
    pub exit: i32,
    /// The status, 0 when none came.
    pub status: u16,
    /// The response head, lower case.
    pub headers: String,
    /// The body.
    pub body: String,
    /// How long the request took.
    pub took: Duration,
}

/// `curl -sS -i -m 5 MORE URL` from the namespace `ns`, a fresh connection each time.
pub fn curl_in(ns: &str, url: &str, more: &[&str]) -> Seen {
    let started = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-sS", "-i", "-m", "5"])
        .args(more)
        .arg(url)
        .output()
        .expect("curl runs");
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Seen {
        exit: out.status.code().unwrap_or(-1),
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
        took,
    }
}

/// What of an HTTP fault is left in the namespace `ns`: its nft tables (ip and ip6) and
/// fwmark rules (IPv4 and IPv6); empty when nothing is.
pub fn leftovers_in(ns: &str) -> String {
    let tables = sh(&format!("ip netns exec {ns} nft list tables"));
    let mut left = String::new();
    if tables.contains("faultline_") {
        left += &tables;
    }
    for family in ["-4", "-6"] {
        let rules = sh(&format!("ip {family} -n {ns} rule show"));
        if rules.contains("fwmark 0xfa2") {
            left += &rules;
        }
    }
    left
}

/// The SHA-256 fingerprint of the certificate a TLS client in `ns` is shown at `addr`
/// (`openssl s_client`, checking it against `ca`).
pub fn served_fingerprint(ns: &str, addr: &str, ca: &Path) -> String {
    sh(&format!(
        "ip netns exec {ns} sh -c 'openssl s_client -connect {addr} -CAfile {} -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256'",
        ca.display()
    ))
}

/// The SHA-256 fingerprint of the certificate in the PEM file `cert`.
pub fn file_fingerprint(cert: &Path) -> String {
    sh(&format!(
        "openssl x509 -noout -fingerprint -sha256 -in {}",
        cert.display()
    ))
}

/// A `match` on a path prefix.
pub fn path(prefix: &str) -> HttpMatch {
    HttpMatch {
        path: Some(prefix.into()),
        ..HttpMatch::default()
    }
}

/// `httpAbort` of the requests `matching` picks on `port` (inbound, before the server)
/// with `code` and no body; change fields with `HttpAbort { .., ..abort(..) }`.
pub fn abort(port: u16, matching: HttpMatch, code: u16) -> HttpAbort {
    HttpAbort {
        port,
        direction: Default::default(),
        matching,
        target: HttpTarget::Request,
        code,
        body: None,
        tls: None,
    }
}

/// `httpDelay` of the requests `matching` picks on `port` by `ms` (inbound, request).
pub fn delay(port: u16, matching: HttpMatch, ms: u64) -> HttpDelay {
    HttpDelay {
        port,
        direction: Default::default(),
        matching,
        target: HttpTarget::Request,
        delay: faultline_spec::Duration::from_millis(ms),
        tls: None,
    }
}

/// `httpReset` of the requests `matching` picks on `port` (inbound, request).
pub fn reset(port: u16, matching: HttpMatch) -> HttpReset {
    HttpReset {
        port,
        direction: Default::default(),
        matching,
        target: HttpTarget::Request,
        tls: None,
    }
}

/// One HTTP/1.1 keep-alive request on `conn`: the status, or the error that ended it.
pub fn keep_alive_get(conn: &mut TcpStream, path: &str) -> std::io::Result<u16> {
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}
