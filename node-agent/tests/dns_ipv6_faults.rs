//! DNS faults over IPv6, against the real kernel: the target namespace (a, fd77::1) asks a
//! nameserver (b, fd77::2 and 10.77.0.2, a one-name responder this test runs there) over
//! IPv6, and the fault's `ip6` table redirects those queries to the agent's proxy on
//! a's `::1`. Each test proves the fault took effect on IPv6 queries, then that recovery
//! removed both tables (the namespaces' guards remove whatever a failing test left).

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use faultline_agent::Recovered;
use faultline_agent::dnsproxy::wire;
use faultline_agent::faults::{Family, Fault};
use faultline_spec::NodeFault;
use faultline_spec::fault::{DnsAnswer, DnsError, DnsSpoof};
use faultline_test_support::{NetnsPair, ResolvConf, UdpResponder, dns, sh};
use support::netns_record;

/// What the upstream answers A and AAAA queries with.
const UPSTREAM_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 42);
const UPSTREAM_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42);
/// b's IPv6 address.
const B_V6: &str = "fd77::2";

/// Adds fd77::1/64 to a and fd77::2/64 to b (no duplicate address detection, so they
/// are usable at once).
fn add_ipv6(pair: &NetnsPair) {
    sh(&format!(
        "ip -n {a} addr add fd77::1/64 dev va nodad && ip -n {b} addr add {B_V6}/64 dev vb nodad",
        a = pair.a,
        b = pair.b
    ));
}

/// b's nameserver on `[fd77::2]:53` and `10.77.0.2:53`, answering A with
/// [`UPSTREAM_V4`] and AAAA with [`UPSTREAM_V6`].
fn upstream(pair: &NetnsPair) -> UdpResponder {
    let addrs = [format!("[{B_V6}]:53"), "10.77.0.2:53".to_string()];
    UdpResponder::start(&pair.b_path(), &addrs, |query, reply| {
        if let Some(q) = wire::question(query) {
            let answers = [IpAddr::V4(UPSTREAM_V4), IpAddr::V6(UPSTREAM_V6)];
            reply.extend(wire::address_response(query, &q, &answers, 60));
        }
    })
}

/// A query of `qtype` from a to `server` over UDP: the response, `None` after 1 s.
async fn ask_udp(pair: &NetnsPair, server: &str, name: &str, qtype: u16) -> Option<Vec<u8>> {
    dns::ask_udp(&pair.a_path(), server, wire::query(0x6666, name, qtype)).await
}

/// The same over TCP (b runs no TCP server: only the redirect can answer).
async fn ask_tcp(pair: &NetnsPair, server: &str, name: &str, qtype: u16) -> Option<Vec<u8>> {
    dns::ask_tcp(&pair.a_path(), server, wire::query(0x6767, name, qtype)).await
}

fn tables(pair: &NetnsPair) -> String {
    sh(&format!("ip netns exec {} nft list tables", pair.a))
}

fn upstream_aaaa(r: Option<Vec<u8>>) -> bool {
    r.is_some_and(|m| wire::rcode(&m) == Some(0) && wire::aaaa_records(&m) == [UPSTREAM_V6])
}

const V6_SERVER: &str = "[fd77::2]:53";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_spoof_answers_aaaa_for_an_ipv6_resolver_and_recovers() {
    let pair = NetnsPair::new("dns6spoof");
    add_ipv6(&pair);
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, B_V6);
    assert!(
        upstream_aaaa(ask_udp(&pair, V6_SERVER, "db.prod.test", 28).await),
        "before the fault"
    );

    let spoofed: Ipv6Addr = "2001:db8::7".parse().unwrap();
    let rec = netns_record(
        "dns6spoof",
        NodeFault::DnsSpoof(DnsSpoof {
            patterns: vec!["db.*".into()],
            addresses: vec!["198.51.100.7".parse().unwrap(), spoofed.into()],
            random: false,
            ttl: None,
            query_types: Vec::new(),
            probability: None,
        }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.apply(&rec).await.unwrap(); // twice is once
    let base = fam.baseline(&rec).await;
    let listed = tables(&pair);
    assert!(
        listed.contains("table ip6 faultline_dns6spoof")
            && listed.contains("table ip faultline_dns6spoof"),
        "{listed}"
    );

    let udp = ask_udp(&pair, V6_SERVER, "db.prod.test", 28).await.unwrap();
    assert_eq!(
        (wire::rcode(&udp), wire::aaaa_records(&udp)),
        (Some(0), vec![spoofed]),
        "AAAA over UDP to the IPv6 resolver"
    );
    let tcp = ask_tcp(&pair, V6_SERVER, "db.prod.test", 28).await.unwrap();
    assert_eq!(wire::aaaa_records(&tcp), [spoofed], "AAAA over TCP");
    let a = ask_udp(&pair, V6_SERVER, "db.prod.test", 1).await.unwrap();
    assert_eq!(
        wire::a_records(&a),
        ["198.51.100.7".parse::<Ipv4Addr>().unwrap()],
        "A asked of the IPv6 resolver"
    );
    // Another name goes to the IPv6 upstream, from the IPv6 and the IPv4 side alike.
    assert!(upstream_aaaa(
        ask_udp(&pair, V6_SERVER, "web.prod.test", 28).await
    ));
    assert!(upstream_aaaa(
        ask_udp(&pair, "10.77.0.2:53", "web.prod.test", 28).await
    ));

    let seen = fam.observe(&rec, &base).await;
    assert!(
        seen.effective
            && seen.evidence.contains("3 of 5 queries")
            && seen.evidence.contains("[::1]"),
        "{}",
        seen.evidence
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(!tables(&pair).contains("faultline_"), "{}", tables(&pair));
    assert!(upstream_aaaa(
        ask_udp(&pair, V6_SERVER, "db.prod.test", 28).await
    ));
    assert!(
        ask_tcp(&pair, V6_SERVER, "db.prod.test", 28)
            .await
            .is_none(),
        "no TCP proxy left on IPv6"
    );
    assert!(!fam.observe(&rec, &base).await.effective);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_error_catches_ipv6_queries_when_resolv_conf_names_ipv4() {
    let pair = NetnsPair::new("dns6err");
    add_ipv6(&pair);
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    let rec = netns_record(
        "dns6err",
        NodeFault::DnsError(DnsError {
            patterns: vec!["*.blocked.test".into()],
            answer: DnsAnswer::Nxdomain,
            query_types: Vec::new(),
            probability: None,
        }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let got = ask_udp(&pair, V6_SERVER, "api.blocked.test", 28).await;
    assert_eq!(
        got.as_deref().and_then(wire::rcode),
        Some(3),
        "NXDOMAIN over IPv6"
    );
    assert!(
        upstream_aaaa(ask_udp(&pair, V6_SERVER, "ok.test", 28).await),
        "another name forwarded to the IPv4 upstream"
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(!tables(&pair).contains("faultline_"), "{}", tables(&pair));
    assert!(upstream_aaaa(
        ask_udp(&pair, V6_SERVER, "api.blocked.test", 28).await
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ipv6_in_the_namespace_only_ipv4_is_redirected() {
    let pair = NetnsPair::new("dns6off");
    sh(&format!(
        "ip netns exec {} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1",
        pair.a
    ));
    let _upstream4 = {
        add_ipv6_b_only(&pair);
        upstream(&pair)
    };
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    let rec = netns_record(
        "dns6off",
        NodeFault::DnsError(DnsError {
            patterns: vec!["*.blocked.test".into()],
            answer: DnsAnswer::Refused,
            query_types: Vec::new(),
            probability: None,
        }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let listed = tables(&pair);
    assert!(
        listed.contains("table ip faultline_dns6off") && !listed.contains("ip6"),
        "{listed}"
    );
    let got = ask_udp(&pair, "10.77.0.2:53", "api.blocked.test", 1).await;
    assert_eq!(got.as_deref().and_then(wire::rcode), Some(5));
    let seen = fam.observe(&rec, &fam.baseline(&rec).await).await;
    assert!(
        seen.effective && seen.evidence.contains("no IPv6"),
        "{}",
        seen.evidence
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(!tables(&pair).contains("faultline_"), "{}", tables(&pair));
}

/// b's IPv6 address only (a has IPv6 disabled).
fn add_ipv6_b_only(pair: &NetnsPair) {
    sh(&format!("ip -n {} addr add {B_V6}/64 dev vb nodad", pair.b));
}
