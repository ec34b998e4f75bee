//! Loopback ports that nobody else can take.
//!
//! The old helper bound port 0, read the number, closed the socket and handed the number
//! over. Between the close and the moment the test's server bound it again, anything on
//! the machine could take the port — another test's server, any client's ephemeral port —
//! and the test then talked to a stranger (one CI failure was exactly that). So:
//!
//! - a server in the test's own process gets the **bound listener** ([`listener`],
//!   [`tokio_listener`]), never a number;
//! - a port that must refuse connections now and accept them later (a peer that is down,
//!   then comes up on the address its clients were given) is a [`Reserved`] socket: bound
//!   but not listening, so connecting is refused and binding it again fails, until the test
//!   turns it into a listener or hands it to a child process as its stdin;
//! - a child process that binds by itself (Prometheus, Alertmanager, `faultline serve`,
//!   `faultline-agent`) is told to listen on port 0 and its port is read back from
//!   `/proc` ([`listening_ports`], [`crate::Proc::wait_listening`]), which works for any
//!   program without it having to print its address.
//!
//! A number remains only where it cannot be otherwise: a *restarted* process must come
//! back on the port its clients already know (a killed service or agent started again:
//! the port is free from the kill to the restart), and a test whose subject is the number
//! a child is told ([`Reserved::release`]). Those tests say so where they do it.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::wait::wait_until;

/// A listener on a loopback port the kernel picked, for a server in this process.
pub fn listener() -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port")
}

/// [`listener`] for tokio; must be called inside a runtime.
pub fn tokio_listener() -> tokio::net::TcpListener {
    let l = listener();
    l.set_nonblocking(true).expect("a non-blocking listener");
    tokio::net::TcpListener::from_std(l).expect("a tokio listener (inside a runtime)")
}

/// A loopback port held bound but not listening: a connection to it is refused (as to a
/// peer that is down), and nobody else can bind it (the socket does not set
/// `SO_REUSEADDR`, so even a program that does cannot share it). Dropping it frees the
/// port; [`Reserved::listen`] and [`Reserved::into_stdin`] hand it over without a gap.
#[derive(Debug)]
pub struct Reserved {
    socket: Socket,
    port: u16,
}

impl Reserved {
    /// Binds a loopback port the kernel picks.
    pub fn new() -> Reserved {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
        let any: SocketAddr = (Ipv4Addr::LOCALHOST, 0).into();
        socket.bind(&any.into()).expect("bind a loopback port");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("the bound address")
            .port();
        Reserved { socket, port }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts listening: from now on connections are accepted.
    pub fn listen(self) -> TcpListener {
        self.socket
            .listen(1024)
            .expect("listen on the reserved port");
        self.socket.into()
    }

    /// [`Reserved::listen`] for tokio; must be called inside a runtime.
    pub fn listen_tokio(self) -> tokio::net::TcpListener {
        let l = self.listen();
        l.set_nonblocking(true).expect("a non-blocking listener");
        tokio::net::TcpListener::from_std(l).expect("a tokio listener (inside a runtime)")
    }

    /// The bound socket as a child's stdin, for a child that listens on the socket it is
    /// given (the SMTP sink: `socket.socket(fileno=0)` in Python).
    pub fn into_stdin(self) -> Stdio {
        Stdio::from(std::os::fd::OwnedFd::from(self.socket))
    }

    /// Frees the port and returns its number, for a child that must be *told* a number
    /// because the number is the subject (which of `serve`'s config sources wins the
    /// listen address). Call it right before spawning the child: from here until the
    /// child binds, the port is free for anyone — the race this module otherwise avoids,
    /// narrowed from a whole test to a process start.
    pub fn release(self) -> u16 {
        self.port
    }
}

impl Default for Reserved {
    fn default() -> Self {
        Reserved::new()
    }
}

/// A port that refuses connections, with its number: keep the first value alive for as
/// long as the port must stay closed (`let (_closed, port) = closed_port();`).
pub fn closed_port() -> (Reserved, u16) {
    let r = Reserved::new();
    let port = r.port();
    (r, port)
}

/// The TCP ports process `pid` listens on, read from `/proc`: its sockets' inodes
/// (`/proc/PID/fd`) matched against the listening sockets of its network namespace
/// (`/proc/PID/net/tcp` and `tcp6`). Empty when the process is gone or listens nowhere.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let inodes: HashSet<String> = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid
        // timeout inode ...", addresses as HEXIP:HEXPORT, state 0A = LISTEN.
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9
                && f[3] == "0A"
                && inodes.contains(f[9])
                && let Some(port) = f[1]
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                && !ports.contains(&port)
            {
                ports.push(port);
            }
        }
    }
    ports
}

/// Waits (20 s at most) until process `pid` listens on a TCP port, and returns it. Prefer
/// [`crate::Proc::wait_listening`], which also reports an early exit; this form is for a
/// blocking task that only has the pid.
pub fn wait_listening(pid: u32) -> u16 {
    let mut port = None;
    wait_until(Duration::from_secs(20), || {
        port = listening_ports(pid).first().copied();
        port.is_some() || !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    port.unwrap_or_else(|| panic!("process {pid} listened on no TCP port within 20 s (or exited)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::net::TcpStream;

    #[test]
    fn a_reserved_port_refuses_connections_and_cannot_be_bound_until_it_listens() {
        let r = Reserved::new();
        let port = r.port();
        let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        // std sets SO_REUSEADDR, as most servers do: still refused.
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
        let l = r.listen();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(l);
    }

    #[test]
    fn the_port_a_process_listens_on_is_read_from_proc() {
        let l = listener();
        let port = l.local_addr().unwrap().port();
        assert!(listening_ports(std::process::id()).contains(&port));
        let (_closed, closed) = closed_port();
        assert!(!listening_ports(std::process::id()).contains(&closed));
    }
}
