//! The web server the tests' experiments probe and pause: Python's `http.server`, a real
//! process with a pid of its own.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::process::Proc;

/// A Python HTTP server serving `dir` on a loopback port, answering before it returns.
///
/// It binds port 0 and the port is read from its first line: a port picked here and handed
/// over could be taken meanwhile (another test's server, a client's ephemeral port), and
/// waiting for it then found the other listener, not this one. `http.server` binds and
/// listens before it prints that line.
pub fn http_server(dir: &Path) -> (Proc, u16) {
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
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the HTTP server's first line");
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no port in the HTTP server's first line: {line:?}"));
    (p, port)
}

/// A web server (see [`http_server`]) serving an empty directory of its own, removed
/// after the server. For tests whose checks time the server: a listing of /tmp costs
/// CPU that grows with whatever the machine keeps there.
pub struct EmptySite {
    /// The server.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_answers_on_the_port_it_printed() {
        let (site, port) = empty_http_server();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::io::Write::write_all(&mut s, b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        assert!(out.starts_with("HTTP/1.0 200"), "{out}");
        assert!(crate::ports::listening_ports(site.pid()).contains(&port));
    }
}
