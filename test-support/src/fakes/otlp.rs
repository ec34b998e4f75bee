//! An OTLP/HTTP collector stand-in on loopback: it speaks the protocol's transport
//! (`POST /v1/traces`, `application/x-protobuf`, keep-alive connections), answers like a
//! collector — 503 while under pressure, then 200 with an empty
//! `ExportTraceServiceResponse` (a valid empty protobuf message) — and records every
//! request's bytes for the test to decode with `opentelemetry-proto`.
//!
//! It serves on threads of its own rather than on the test's runtime: the agent's tests
//! block their thread while the agent flushes its spans to it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use crate::ports::listener;

/// One request the collector got, and the status it answered.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The path, e.g. `/v1/traces`.
    pub path: String,
    /// The Content-Type header.
    pub content_type: String,
    /// The body (a protobuf `ExportTraceServiceRequest`).
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

/// Every request so far, in arrival order.
pub type Requests = Arc<Mutex<Vec<Request>>>;

/// Starts a collector answering 503 to the first `fail_first` requests, then 200; returns
/// its port and what it receives. It serves until the test binary exits.
pub fn receiver(fail_first: usize) -> (u16, Requests) {
    let listener = listener();
    let port = listener.local_addr().unwrap().port();
    let seen: Requests = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let log = log.clone();
            std::thread::spawn(move || serve(sock, &log, fail_first));
        }
    });
    (port, seen)
}

/// Serves one connection: several requests may come on it (keep-alive).
fn serve(sock: TcpStream, log: &Mutex<Vec<Request>>, fail_first: usize) {
    let Ok(mut wr) = sock.try_clone() else { return };
    let mut rd = BufReader::new(sock);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .expect("the exporter sends a content-length");
        let mut body = vec![0; len];
        if rd.read_exact(&mut body).is_err() {
            return;
        }
        let status = {
            let mut seen = log.lock().unwrap();
            let status = if seen.len() < fail_first { 503 } else { 200 };
            seen.push(Request {
                method,
                path,
                content_type: headers.get("content-type").cloned().unwrap_or_default(),
                body,
                status,
            });
            status
        };
        let reply = if status == 503 {
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"
        } else {
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        };
        if wr.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_export_is_refused_then_accepted_on_one_connection() {
        let (port, seen) = receiver(1);
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let req = "POST /v1/traces HTTP/1.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: 2\r\n\r\nab";
        let mut rd = BufReader::new(s.try_clone().unwrap());
        let mut status = Vec::new();
        for _ in 0..2 {
            s.write_all(req.as_bytes()).unwrap();
            let mut line = String::new();
            rd.read_line(&mut line).unwrap();
            status.push(line.split_whitespace().nth(1).unwrap().to_string());
            // The rest of the head (the body is empty).
            while line != "\r\n" {
                line.clear();
                rd.read_line(&mut line).unwrap();
            }
        }
        assert_eq!(status, ["503", "200"]);
        let seen = seen.lock().unwrap();
        assert_eq!(
            (seen[1].path.as_str(), seen[1].body.as_slice()),
            ("/v1/traces", &b"ab"[..])
        );
    }
}
