//! The cheapest web server: every request answered `200 ok`. The system a bench's
//! experiment probes when the bench measures faultline, not the server.

use std::io::{Read, Write};

use crate::ports::listener;

/// A loopback HTTP server answering every request `200 ok` (`Connection: close`), on a
/// thread of its own for the life of the process. Returns its URL.
pub fn http_ok_server() -> String {
    let listener = listener();
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    url
}
