//! h2c and gRPC through an HTTP fault's proxy, against the real kernel: the target
//! namespace (b) runs a real h2c server (hyper, `http/h2c.rs`) on 10.77.0.2:8080 that
//! answers gRPC as a gRPC server does. A rule picks one path; the test proves that the
//! requests it picks are faulted as their protocol expects while the others, h2c and
//! gRPC alike, on the same port and the same HTTP/2 connection, reach the server and
//! come back untouched (status, headers, message, trailers), then that recovery removed
//! everything.

mod http;
mod support;

use std::net::TcpStream;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper::header::{CONTENT_TYPE, HeaderMap};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};

use faultline_agent::Recovered;
use faultline_agent::faults::{Baseline, Family, Fault};
use faultline_spec::NodeFault;
use faultline_test_support::{NetnsPair, in_netns};
use http::h2c::{GRPC_MESSAGE, H2cServer};
use http::{abort, curl_in, leftovers_in, path};
use support::netns_record;

const SERVER: &str = "10.77.0.2:8080";

/// What a client got: status, headers, body and trailers.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

/// One HTTP/2 connection from a to the server (prior knowledge, as gRPC clients do).
async fn h2_connection(pair: &NetnsPair) -> http2::SendRequest<Full<Bytes>> {
    let std = in_netns(&pair.a_path(), || TcpStream::connect(SERVER)).unwrap();
    std.set_nonblocking(true).unwrap();
    let tcp = tokio::net::TcpStream::from_std(std).unwrap();
    let (send, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

/// A unary gRPC call's request to `path` (an empty message) on `conn`.
async fn grpc(conn: &mut http2::SendRequest<Full<Bytes>>, path: &str) -> Answer {
    let req = Request::post(format!("http://{SERVER}{path}"))
        .header(CONTENT_TYPE, "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(b"\0\0\0\0\0")))
        .unwrap();
    let r = conn.send_request(req).await.unwrap();
    let (parts, body) = r.into_parts();
    let body = body.collect().await.unwrap();
    let trailers = body.trailers().cloned();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.to_bytes(),
        trailers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_h2c_and_grpc_requests_pass_untouched_beside_faulted_ones() {
    let pair = NetnsPair::new("httph2p");
    let _server = H2cServer::start(&pair.b_path(), SERVER);
    let rec = netns_record(
        "httph2p",
        NodeFault::HttpAbort(abort(8080, path("/shop.Admin/"), 503)),
        &pair.b_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;

    // gRPC on one HTTP/2 connection: the picked call answered by the proxy, the others
    // passed to the server and back as it answered them.
    let mut conn = h2_connection(&pair).await;
    let faulted = grpc(&mut conn, "/shop.Admin/Purge").await;
    assert_eq!(faulted.status, StatusCode::OK);
    assert_eq!(faulted.headers["grpc-status"], "14", "UNAVAILABLE for 503");
    assert!(!faulted.headers.contains_key("x-server"));
    for _ in 0..3 {
        let passed = grpc(&mut conn, "/shop.Cart/Add").await;
        assert_eq!(passed.status, StatusCode::OK);
        assert_eq!(passed.headers["x-server"], "real");
        assert_eq!(passed.headers[CONTENT_TYPE], "application/grpc");
        assert_eq!(passed.body.as_ref(), GRPC_MESSAGE, "the server's message");
        let trailers = passed.trailers.expect("the server's trailers came through");
        assert_eq!(trailers["grpc-status"], "0");
        assert_eq!(trailers["grpc-message"], "served");
    }

    // Plain h2c from a real client (curl, prior knowledge), on the same port.
    let url = |p: &str| format!("http://{SERVER}{p}");
    let h2 = ["--http2-prior-knowledge"];
    let (hit, other) = tokio::task::block_in_place(|| {
        (
            curl_in(&pair.a, &url("/shop.Admin/page"), &h2),
            curl_in(&pair.a, &url("/web/index"), &h2),
        )
    });
    assert!(hit.headers.starts_with("http/2 503"), "{hit:?}");
    assert!(other.headers.starts_with("http/2 200"), "{other:?}");
    assert!(other.headers.contains("x-server: real"), "{other:?}");
    assert_eq!(other.body, r#"{"method": "GET", "path": "/web/index"}"#);

    let seen = fam.observe(&rec, &base).await;
    assert!(seen.effective, "{}", seen.evidence);
    assert!(
        seen.evidence
            .contains("2 of 6 requests aborted since apply, 4 passed on untouched"),
        "{}",
        seen.evidence
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(leftovers_in(&pair.b), "", "left after recovery");
    let mut fresh = h2_connection(&pair).await;
    let after = grpc(&mut fresh, "/shop.Admin/Purge").await;
    assert_eq!(
        after.headers["x-server"], "real",
        "the server answers again"
    );
    assert!(!fam.observe(&rec, &Baseline::now(Some(0))).await.effective);
}
