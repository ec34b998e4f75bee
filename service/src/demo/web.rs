//! The demo's system under test: a tiny HTTP server (`GET /` answers `ok`, `GET /big`
//! answers 64 KiB, `GET /metrics` counts requests for Prometheus) run as its own process
//! inside the demo's network namespace, so faults aimed at it touch nothing else.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// The hidden argv[1] that turns the `faultline` binary into the demo web server.
pub const WEB_SERVER_ARG: &str = "__faultline-demo-web";

const BIG: usize = 64 * 1024;

/// Serves forever on `addr`; returns only if it cannot bind.
pub fn serve(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        std::thread::spawn(move || {
            let _ = answer(conn);
        });
    }
    Ok(())
}

fn answer(mut conn: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers; the demo's probes send no body.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let served = REQUESTS.fetch_add(1, Ordering::Relaxed) + 1;
    let body: Vec<u8> = match path {
        "/big" => vec![b'x'; BIG],
        "/metrics" => format!(
            "# HELP demo_http_requests_total Requests the demo web server answered.\n# TYPE demo_http_requests_total counter\ndemo_http_requests_total {served}\n"
        )
        .into_bytes(),
        _ => b"ok\n".to_vec(),
    };
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(&body)?;
    conn.flush()
}
