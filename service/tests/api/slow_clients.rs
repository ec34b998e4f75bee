//! Slowloris-style clients (reliability suite R3): a request whose body trickles in a byte
//! at a time, or whose head never ends, is cut off with 408 instead of holding its
//! connection for ever, and the service goes on answering everyone else meanwhile.

use std::time::{Duration, Instant};

use faultline::api::deadline::REQUEST_DEADLINE;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{OPERATOR, TestServer};
use faultline_test_support::client;

/// Writes `head`, then one body byte every 500 ms until the server answers or closes;
/// returns what it answered and how many bytes of the body were sent.
async fn trickle(addr: &str, head: &str, body_len: usize) -> (String, usize) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded so that a server that never cuts the client off fails the test, not hangs it.
    let give_up = Instant::now() + REQUEST_DEADLINE + Duration::from_secs(30);
    while Instant::now() < give_up {
        match tokio::time::timeout(Duration::from_millis(500), conn.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Ok(Err(_)) => break,
            Err(_) if sent < body_len => {
                if conn.write_all(b"a").await.is_err() {
                    break;
                }
                sent += 1;
            }
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), sent)
}

#[tokio::test]
async fn a_body_trickling_in_is_cut_off_with_408_while_others_are_served() {
    let s = TestServer::start().await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let head = format!(
        "POST /api/v1/runs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {OPERATOR}\r\n\
         Content-Type: application/yaml\r\nContent-Length: 100000\r\n\r\n"
    );
    let slow = tokio::spawn({
        let addr = addr.clone();
        async move { trickle(&addr, &head, 100_000).await }
    });
    // Meanwhile the service answers others at once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let health = client().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let (answer, sent) = slow.await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {sent} body bytes the answer was {answer:?}"
    );
    assert!(sent < 100_000, "the whole body went through");
    assert!(answer.contains("not complete within"), "{answer}");
    // Nothing was started from the half-sent experiment.
    let all = faultline::application::ports::RunFilter {
        limit: 100,
        ..Default::default()
    };
    assert!(s.store.find_runs(&all).unwrap().is_empty());
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let s = TestServer::start().await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    conn.write_all(format!("GET /api/v1/runs HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .await
        .unwrap();
    // One header line every 500 ms, never the blank line that ends the head.
    let give_up = Instant::now() + REQUEST_DEADLINE + Duration::from_secs(30);
    let mut buf = [0u8; 1024];
    let mut answer = Vec::new();
    let mut i = 0;
    let closed = loop {
        if Instant::now() > give_up {
            break false;
        }
        match tokio::time::timeout(Duration::from_millis(500), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {
                i += 1;
                if conn
                    .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    break true;
                }
            }
        }
    };
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        closed || answer.starts_with("HTTP/1.1 408"),
        "the server kept a never-ending head open: {answer:?}"
    );
}
