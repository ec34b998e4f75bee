//! HTTP faults over IPv6, against the real kernel: the target namespace (b, fd77::2 and
//! 10.77.0.2) runs Python's http.server on `[::]:8080`, one socket for IPv6 and IPv4 as
//! most servers listen, and curl or a raw keep-alive client in a (fd77::1) talks to it.
//! The tests prove the fault acts on IPv6 requests (and on IPv4 ones to the same server),
//! that a keep-alive IPv6 connection open before injection is cut, and that recovery
//! removed both tables (`ip` and `ip6`), both fwmark rules and the proxy.

mod http;
mod support;

use std::net::TcpStream;
use std::time::Duration;

use faultline_agent::Recovered;
use faultline_agent::faults::{Baseline, Family, Fault};
use faultline_spec::NodeFault;
use faultline_test_support::{NetnsPair, in_netns, sh};
use http::{PyServer, Seen, abort, curl_in, keep_alive_get, leftovers_in, path};
use support::netns_record;

/// b's IPv6 address and the server's port there, as a URL writes it.
const SERVER_V6: &str = "[fd77::2]:8080";

/// Adds fd77::1/64 to a and fd77::2/64 to b (no duplicate address detection, so they
/// are usable at once).
fn add_ipv6(pair: &NetnsPair) {
    sh(&format!(
        "ip -n {a} addr add fd77::1/64 dev va nodad && ip -n {b} addr add fd77::2/64 dev vb nodad",
        a = pair.a,
        b = pair.b
    ));
}

fn get(pair: &NetnsPair, host: &str, path: &str) -> Seen {
    tokio::task::block_in_place(|| curl_in(&pair.a, &format!("http://{host}{path}"), &["-g"]))
}

/// A keep-alive connection from a to the server over IPv6.
fn connect_v6(pair: &NetnsPair) -> TcpStream {
    let conn = in_netns(&pair.a_path(), || TcpStream::connect(SERVER_V6)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_requests_are_faulted_and_everything_is_removed_from_both_families() {
    let pair = NetnsPair::new("http6");
    add_ipv6(&pair);
    let _server = PyServer::start(&pair.b, "::", 8080, None, || {
        curl_in(&pair.a, &format!("http://{SERVER_V6}/ready"), &["-g"]).status == 200
    });
    let mut old = connect_v6(&pair);
    assert_eq!(keep_alive_get(&mut old, "/api/0").unwrap(), 200, "before");

    let rec = netns_record(
        "http6",
        NodeFault::HttpAbort(abort(8080, path("/api/"), 503)),
        &pair.b_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;
    let tables = sh(&format!("ip netns exec {} nft list tables", pair.b));
    assert!(tables.contains("table ip6 faultline_http6"), "{tables}");
    let rules6 = sh(&format!("ip -6 -n {} rule show", pair.b));
    assert!(rules6.contains("fwmark 0xfa2"), "{rules6}");

    // The IPv6 connection open before the fault was cut (SOCK_DESTROY of an IPv6 socket).
    let cut = tokio::task::block_in_place(|| keep_alive_get(&mut old, "/api/1"));
    assert!(
        cut.is_err(),
        "the old IPv6 connection still answers: {cut:?}"
    );
    let hit = get(&pair, SERVER_V6, "/api/orders");
    assert_eq!(hit.status, 503, "{hit:?}");
    assert!(!hit.headers.contains("x-server"), "{hit:?}");
    let other = get(&pair, SERVER_V6, "/web");
    assert_eq!(other.status, 200, "{other:?}");
    assert!(other.headers.contains("x-server: real"), "{other:?}");
    // IPv4 to the same dual-stack server: the same fault, through the same proxy.
    let v4 = get(&pair, "10.77.0.2:8080", "/api/v4");
    assert_eq!(v4.status, 503, "{v4:?}");

    let seen = fam.observe(&rec, &base).await;
    assert!(seen.effective, "{}", seen.evidence);
    assert!(seen.evidence.contains("(ip and ip6)"), "{}", seen.evidence);
    assert!(
        seen.evidence
            .contains("2 of 3 requests aborted since apply, 1 passed on untouched"),
        "{}",
        seen.evidence
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(leftovers_in(&pair.b), "", "left after recovery");
    let listeners = sh(&format!("ip netns exec {} ss -Htln", pair.b));
    assert_eq!(
        listeners.lines().count(),
        1,
        "only the server listens: {listeners}"
    );
    let after = get(&pair, SERVER_V6, "/api/orders");
    assert_eq!(after.status, 200, "{after:?}");
    assert!(after.headers.contains("x-server: real"), "{after:?}");
    assert!(!fam.observe(&rec, &Baseline::now(Some(0))).await.effective);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
}
