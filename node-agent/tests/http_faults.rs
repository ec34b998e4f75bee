//! HTTP faults against the real kernel: a target namespace (b) runs a real HTTP server
//! (Python's http.server, `tests/http/server.py`) on 10.77.0.2:8080, and a real client
//! (curl, or a raw keep-alive TCP client) in the other namespace (a) talks to it. Each
//! test proves the fault took effect as the client sees it, that requests it does not
//! pick pass untouched, and that recovery removed the nft table, the fwmark rule, the
//! local route and the proxy (the namespaces' guards remove whatever a failing test left).

mod http;
mod support;

use std::net::TcpStream;
use std::time::Duration;

use faultline_agent::Recovered;
use faultline_agent::faults::{Family, Fault, FaultRecord};
use faultline_agent::protocol::ApplyRequest;
use faultline_agent::{AgentClient, FaultId};
use faultline_spec::fault::http::HttpChanges;
use faultline_spec::fault::{HttpAbort, HttpMatch, HttpReplace, HttpTarget};
use faultline_spec::{LocalTarget, NodeFault};
use faultline_test_support::{NetnsPair, in_netns, sh};
use http::{
    PyServer, Seen, abort, curl_in, delay, keep_alive_get, leftovers_in, path as matching, reset,
};
use support::{AgentProc, netns_record};

const SERVER: &str = "10.77.0.2:8080";

/// The Python server on b's 10.77.0.2:8080; killed on drop.
fn server(pair: &NetnsPair) -> PyServer {
    PyServer::start(&pair.b, "10.77.0.2", 8080, None, || {
        curl(pair, "/ready").status == 200
    })
}

/// `curl -i http://SERVER<path>` from a, a fresh connection each time.
fn curl(pair: &NetnsPair, path: &str) -> Seen {
    curl_with(pair, path, &[])
}

/// The same with more curl arguments.
fn curl_with(pair: &NetnsPair, path: &str, more: &[&str]) -> Seen {
    curl_in(&pair.a, &format!("http://{SERVER}{path}"), more)
}

/// What of the fault is left in b: its nft table and fwmark rules.
fn leftovers(pair: &NetnsPair) -> String {
    leftovers_in(&pair.b)
}

async fn applied(tag: &str, pair: &NetnsPair, kind: NodeFault) -> (Family, FaultRecord) {
    let rec = netns_record(tag, kind, &pair.b_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    (fam, rec)
}

/// Recovers, then checks nothing is left and the server answers as before.
async fn recovered(fam: &Family, rec: &FaultRecord, pair: &NetnsPair, path: &str) {
    assert_eq!(fam.recover(rec).await.unwrap(), Recovered::Removed);
    assert_eq!(leftovers(pair), "", "left after recovery");
    let after = curl(pair, path);
    assert_eq!(after.status, 200, "after recovery: {after:?}");
    assert!(after.headers.contains("x-server: real"), "{after:?}");
    assert_eq!(fam.recover(rec).await.unwrap(), Recovered::AlreadyGone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_abort_answers_picked_requests_and_passes_the_others_untouched() {
    let pair = NetnsPair::new("httpabort");
    let _server = server(&pair);
    let kind = NodeFault::HttpAbort(HttpAbort {
        body: Some("down for chaos".into()),
        ..abort(8080, matching("/api/"), 503)
    });
    let (fam, rec) = applied("httpabort", &pair, kind).await;
    // Applying again is the same as once.
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;

    let hit = tokio::task::block_in_place(|| curl(&pair, "/api/orders"));
    assert_eq!(hit.status, 503, "{hit:?}");
    assert_eq!(hit.body, "down for chaos");
    assert!(
        !hit.headers.contains("x-server"),
        "the server never answered: {hit:?}"
    );
    let other = tokio::task::block_in_place(|| curl(&pair, "/web/index"));
    assert_eq!(other.status, 200, "{other:?}");
    assert!(other.headers.contains("x-server: real"), "{other:?}");
    assert!(other.body.contains(r#""path": "/web/index""#), "{other:?}");

    let seen = fam.observe(&rec, &base).await;
    assert!(seen.effective, "{}", seen.evidence);
    assert!(
        seen.evidence
            .contains("1 of 2 requests aborted since apply, 1 passed on untouched"),
        "{}",
        seen.evidence
    );
    recovered(&fam, &rec, &pair, "/api/orders").await;
    assert!(!fam.observe(&rec, &base).await.effective);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_delay_holds_picked_requests_for_the_delay() {
    let pair = NetnsPair::new("httpdelay");
    let _server = server(&pair);
    let kind = NodeFault::HttpDelay(delay(8080, matching("/slow"), 600));
    let (fam, rec) = applied("httpdelay", &pair, kind).await;
    let slow = tokio::task::block_in_place(|| curl(&pair, "/slow/x"));
    let fast = tokio::task::block_in_place(|| curl(&pair, "/fast"));
    assert_eq!((slow.status, fast.status), (200, 200), "{slow:?} {fast:?}");
    assert!(slow.took >= Duration::from_millis(600), "{slow:?}");
    assert!(fast.took < Duration::from_millis(500), "{fast:?}");
    let seen = fam
        .observe(&rec, &faultline_agent::faults::Baseline::now(Some(0)))
        .await;
    assert!(
        seen.evidence.contains("1 of 2 requests delayed"),
        "{}",
        seen.evidence
    );
    recovered(&fam, &rec, &pair, "/slow/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_reset_resets_the_client_connection() {
    let pair = NetnsPair::new("httpreset");
    let _server = server(&pair);
    let kind = NodeFault::HttpReset(reset(8080, matching("/api/")));
    let (fam, rec) = applied("httpreset", &pair, kind).await;
    let hit = tokio::task::block_in_place(|| curl(&pair, "/api/x"));
    // curl 56: "Recv failure: Connection reset by peer".
    assert_eq!((hit.exit, hit.status), (56, 0), "{hit:?}");
    let other = tokio::task::block_in_place(|| curl(&pair, "/web"));
    assert_eq!(other.status, 200, "{other:?}");
    recovered(&fam, &rec, &pair, "/api/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_replace_patches_the_json_body_and_sets_headers_of_responses() {
    let pair = NetnsPair::new("httprepl");
    let _server = server(&pair);
    let kind = NodeFault::HttpReplace(HttpReplace {
        port: 8080,
        direction: Default::default(),
        matching: matching("/api/"),
        target: HttpTarget::Response,
        replace: HttpChanges {
            headers: [("X-Chaos".to_string(), "replaced".to_string())].into(),
            body: None,
            patch: Some(serde_json::json!({"status": "degraded", "server": null})),
        },
        tls: None,
    });
    let (fam, rec) = applied("httprepl", &pair, kind).await;
    let hit = tokio::task::block_in_place(|| curl(&pair, "/api/state"));
    assert_eq!(hit.status, 200, "{hit:?}");
    assert!(hit.headers.contains("x-chaos: replaced"), "{hit:?}");
    assert!(
        hit.headers.contains("x-server: real"),
        "the server answered: {hit:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "degraded", "path": "/api/state"})
    );
    assert!(
        hit.headers
            .contains(&format!("content-length: {}", hit.body.len())),
        "{hit:?}"
    );
    let other = tokio::task::block_in_place(|| curl(&pair, "/web"));
    assert!(other.body.contains(r#""status": "ok""#), "{other:?}");
    recovered(&fam, &rec, &pair, "/api/state").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_open_before_injection_is_cut_and_the_next_one_faulted() {
    let pair = NetnsPair::new("httpkeep");
    let _server = server(&pair);
    let mut conn = in_netns(&pair.a_path(), || TcpStream::connect(SERVER)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(keep_alive_get(&mut conn, "/api/1").unwrap(), 200, "before");
    assert_eq!(
        keep_alive_get(&mut conn, "/api/2").unwrap(),
        200,
        "kept alive"
    );

    let kind = NodeFault::HttpAbort(abort(8080, HttpMatch::default(), 500));
    let (fam, rec) = applied("httpkeep", &pair, kind).await;
    // Without the cut this request would reach the server on the old connection.
    let old = tokio::task::block_in_place(|| keep_alive_get(&mut conn, "/api/3"));
    assert!(old.is_err(), "the old connection still answers: {old:?}");
    let mut fresh = in_netns(&pair.a_path(), || TcpStream::connect(SERVER)).unwrap();
    fresh
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let new = tokio::task::block_in_place(|| keep_alive_get(&mut fresh, "/api/4"));
    assert_eq!(new.unwrap(), 500, "a new connection goes through the proxy");
    assert_eq!(
        tokio::task::block_in_place(|| keep_alive_get(&mut fresh, "/api/5")).unwrap(),
        500,
        "and stays faulted while kept alive"
    );
    recovered(&fam, &rec, &pair, "/api/6").await;
    // Recovery ends the proxied connection too: nothing keeps faulting it.
    let after = tokio::task::block_in_place(|| keep_alive_get(&mut fresh, "/api/7"));
    assert!(
        after.is_err(),
        "a proxied connection outlived the fault: {after:?}"
    );
}

fn abort_all(code: u16) -> NodeFault {
    NodeFault::HttpAbort(abort(8080, HttpMatch::default(), code))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_faults_the_requests_the_target_sends_and_passes_the_others_on() {
    let pair = NetnsPair::new("httpout");
    let _server = server(&pair);
    // The fault is on a, the client: its requests to port 8080 anywhere.
    let kind = NodeFault::HttpAbort(HttpAbort {
        direction: faultline_spec::fault::HttpDirection::Outbound,
        ..abort(8080, matching("/api/"), 429)
    });
    let rec = netns_record("httpout", kind, &pair.a_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let hit = tokio::task::block_in_place(|| curl(&pair, "/api/x"));
    assert_eq!(hit.status, 429, "{hit:?}");
    // Passed on by the proxy's own (marked) connection, which the rules let through.
    let other = tokio::task::block_in_place(|| curl(&pair, "/web"));
    assert_eq!(other.status, 200, "{other:?}");
    assert!(other.headers.contains("x-server: real"), "{other:?}");
    let seen = fam
        .observe(&rec, &faultline_agent::faults::Baseline::now(Some(0)))
        .await;
    assert!(seen.effective, "{}", seen.evidence);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(leftovers_in(&pair.a), "");
    assert_eq!(
        tokio::task::block_in_place(|| curl(&pair, "/api/x")).status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_and_grpc_requests_are_aborted_as_their_protocol_expects() {
    let pair = NetnsPair::new("httph2");
    let _server = server(&pair);
    let (fam, rec) = applied("httph2", &pair, abort_all(503)).await;
    let h2 =
        tokio::task::block_in_place(|| curl_with(&pair, "/api/x", &["--http2-prior-knowledge"]));
    assert!(h2.headers.starts_with("http/2 503"), "{h2:?}");
    let grpc = tokio::task::block_in_place(|| {
        curl_with(
            &pair,
            "/shop.Cart/Add",
            &[
                "--http2-prior-knowledge",
                "-X",
                "POST",
                "-H",
                "content-type: application/grpc",
                "--data-binary",
                "@/dev/null",
            ],
        )
    });
    // Trailers-Only: HTTP 200, grpc-status UNAVAILABLE (14) for 503.
    assert!(grpc.headers.starts_with("http/2 200"), "{grpc:?}");
    assert!(grpc.headers.contains("grpc-status: 14"), "{grpc:?}");
    assert!(
        grpc.headers.contains("content-type: application/grpc"),
        "{grpc:?}"
    );
    recovered(&fam, &rec, &pair, "/api/x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_left_by_a_killed_agent_are_removed_when_it_restarts() {
    let pair = NetnsPair::new("httpcrash");
    let _server = server(&pair);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "http-crash-test-token\n").unwrap();
    let state = dir.path().join("state");
    let agent = AgentProc::start(&state, &token_file, 0);
    let port = agent.port;
    let client = AgentClient::new(agent.url(), Some("http-crash-test-token".into())).unwrap();
    let id = format!("httpcrash-{}", std::process::id());
    client
        .apply(&ApplyRequest {
            id: FaultId::new(&id).unwrap(),
            kind: abort_all(503),
            targets: vec![LocalTarget::Netns(pair.b_path().display().to_string())],
            lease_seconds: 60,
        })
        .await
        .unwrap();
    assert_eq!(
        tokio::task::block_in_place(|| curl(&pair, "/x")).status,
        503
    );

    agent.signal(nix::sys::signal::Signal::SIGKILL);
    drop(agent);
    // The proxy died with the agent; its rules are still there (the journal names them),
    // and traffic reaches the server again: a tproxy rule with no listener matches nothing.
    assert_ne!(
        leftovers(&pair),
        "",
        "the rules outlived the agent, as they must until restart"
    );
    assert_eq!(
        tokio::task::block_in_place(|| curl(&pair, "/x")).status,
        200
    );

    let agent = AgentProc::start(&state, &token_file, port);
    let gone =
        faultline_test_support::wait_until(Duration::from_secs(10), || leftovers(&pair).is_empty());
    assert!(gone.is_some(), "left after restart: {}", leftovers(&pair));
    let client = AgentClient::new(agent.url(), Some("http-crash-test-token".into())).unwrap();
    assert!(client.list().await.unwrap().faults.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_that_fails_half_way_leaves_nothing_behind() {
    let pair = NetnsPair::new("httpfail");
    let _server = server(&pair);
    let rec = netns_record("httpfail", abort_all(503), &pair.b_path());
    // A chain of another type under the fault's table name makes the nft step fail, after
    // the proxy started and the fwmark rule and route were added.
    let table = faultline_agent::faults::partition::table_name(&rec);
    sh(&format!(
        "ip netns exec {} nft 'add table ip {table}; add chain ip {table} prerouting {{ type nat hook prerouting priority -100; }}'",
        pair.b
    ));
    let fam = Family::of(&rec.kind);
    let e = fam.apply(&rec).await.unwrap_err().to_string();
    assert!(e.contains("nft"), "{e}");
    assert_eq!(leftovers(&pair), "", "left after a failed apply");
    let listeners = sh(&format!("ip netns exec {} ss -Htln", pair.b));
    assert_eq!(
        listeners.lines().count(),
        1,
        "only the server listens: {listeners}"
    );
    assert!(
        !fam.observe(&rec, &faultline_agent::faults::Baseline::now(None))
            .await
            .effective
    );
    assert_eq!(
        tokio::task::block_in_place(|| curl(&pair, "/x")).status,
        200
    );
}

/// The Python server serving HTTPS on 10.77.0.2:8443 with a fresh self-signed
/// certificate (in the temp dir held beside it, which must outlive it).
fn tls_server(pair: &NetnsPair) -> (PyServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    sh(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=10.77.0.2 -keyout {} -out {} 2>/dev/null",
        key.display(),
        cert.display()
    ));
    let server = PyServer::start(&pair.b, "10.77.0.2", 8443, Some((&cert, &key)), || {
        https(pair).1 == 200
    });
    (server, dir)
}

/// `curl -k https://10.77.0.2:8443/` from a: (curl's exit code, status, time taken).
fn https(pair: &NetnsPair) -> (i32, u16, Duration) {
    let seen = curl_in(&pair.a, "https://10.77.0.2:8443/", &["-k"]);
    (seen.exit, seen.status, seen.took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_connections_are_faulted_whole_or_passed_through_untouched() {
    let pair = NetnsPair::new("httptls");
    let _server = tls_server(&pair);
    let reset = |m: HttpMatch| NodeFault::HttpReset(reset(8443, m));
    let delay = |m: HttpMatch| NodeFault::HttpDelay(delay(8443, m, 700));
    // No method, path or header to read: the connection is the unit.
    let (fam, rec) = applied("httptls", &pair, reset(HttpMatch::default())).await;
    let (exit, status, _) = tokio::task::block_in_place(|| https(&pair));
    assert_ne!(exit, 0, "the TLS connection was reset");
    assert_eq!(status, 0);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);

    let (fam, rec) = applied("httptls", &pair, delay(HttpMatch::default())).await;
    let (exit, status, took) = tokio::task::block_in_place(|| https(&pair));
    assert_eq!((exit, status), (0, 200));
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);

    // A path the proxy cannot read in TLS: passed through untouched.
    let (fam, rec) = applied("httptls", &pair, reset(matching("/api/"))).await;
    let (exit, status, _) = tokio::task::block_in_place(|| https(&pair));
    assert_eq!((exit, status), (0, 200), "passed through");
    let seen = fam
        .observe(&rec, &faultline_agent::faults::Baseline::now(Some(0)))
        .await;
    assert!(
        seen.evidence.contains("0 of 1 requests reset"),
        "{}",
        seen.evidence
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(leftovers(&pair), "");
}
