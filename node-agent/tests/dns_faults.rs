//! DNS faults against the real kernel: a target namespace (a) whose queries to its
//! nameserver (b, a one-name UDP responder this test runs there) the fault redirects to
//! the agent's proxy. Everything stays inside the two test namespaces; each test proves
//! the fault took effect, then that recovery removed it (and the namespaces' guards
//! remove whatever a failing test left).

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use faultline_agent::Recovered;
use faultline_agent::dnsproxy::wire;
use faultline_agent::faults::{Family, Fault};
use faultline_spec::NodeFault;
use faultline_spec::fault::{DnsAnswer, DnsDelay, DnsError, DnsSpoof, DnsType};
use faultline_spec::{Duration as SpecDuration, Percent};
use faultline_test_support::{NetnsPair, ResolvConf, UdpResponder, dns, sh};
use support::netns_record;

/// What the upstream answers every A query with.
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 42);

/// b's nameserver on 10.77.0.2:53, answering every A query with [`UPSTREAM_ANSWER`].
fn upstream(pair: &NetnsPair) -> UdpResponder {
    UdpResponder::start(&pair.b_path(), &["10.77.0.2:53"], |query, reply| {
        if let Some(q) = wire::question(query) {
            reply.extend(wire::address_response(
                query,
                &q,
                &[UPSTREAM_ANSWER.into()],
                60,
            ));
        }
    })
}

/// A query from a to b's address over UDP: the response, `None` after 1 s of silence.
async fn ask_udp(pair: &NetnsPair, name: &str) -> Option<Vec<u8>> {
    dns::ask_udp(&pair.a_path(), "10.77.0.2:53", wire::query(0x4242, name, 1)).await
}

/// The same over TCP (b runs no TCP server: only the redirect can answer).
async fn ask_tcp(pair: &NetnsPair, name: &str) -> Option<Vec<u8>> {
    dns::ask_tcp(&pair.a_path(), "10.77.0.2:53", wire::query(0x4343, name, 1)).await
}

fn dns_error(answer: DnsAnswer) -> NodeFault {
    NodeFault::DnsError(DnsError {
        patterns: vec!["*.blocked.test".into()],
        answer,
        query_types: Vec::new(),
        probability: None,
    })
}

fn our_tables(pair: &NetnsPair) -> String {
    sh(&format!("ip netns exec {} nft list tables", pair.a))
}

fn upstream_answered(r: Option<Vec<u8>>) -> bool {
    r.is_some_and(|m| wire::rcode(&m) == Some(0) && wire::a_records(&m) == [UPSTREAM_ANSWER])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_error_answers_matching_names_over_udp_and_tcp_and_recovers() {
    let pair = NetnsPair::new("dnserr");
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    assert!(
        upstream_answered(ask_udp(&pair, "api.blocked.test").await),
        "before the fault"
    );

    let rec = netns_record("dnserr", dns_error(DnsAnswer::Nxdomain), &pair.a_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    // Applying again is the same as once.
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;

    let udp = ask_udp(&pair, "api.blocked.test")
        .await
        .expect("an answer over UDP");
    assert_eq!(wire::rcode(&udp), Some(3), "NXDOMAIN over UDP");
    let tcp = ask_tcp(&pair, "API.blocked.test")
        .await
        .expect("an answer over TCP");
    assert_eq!(wire::rcode(&tcp), Some(3), "NXDOMAIN over TCP");
    assert!(
        upstream_answered(ask_udp(&pair, "ok.test").await),
        "another name over UDP"
    );
    assert!(
        upstream_answered(ask_tcp(&pair, "ok.test").await),
        "another name over TCP"
    );
    assert!(
        upstream_answered(ask_udp(&pair, "blocked.test").await),
        "the glob needs a label"
    );

    let seen = fam.observe(&rec, &base).await;
    assert!(seen.effective, "{}", seen.evidence);
    assert!(
        seen.evidence
            .contains("2 of 5 queries answered with the fault"),
        "{}",
        seen.evidence
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(
        !our_tables(&pair).contains("faultline_"),
        "{}",
        our_tables(&pair)
    );
    assert!(
        upstream_answered(ask_udp(&pair, "api.blocked.test").await),
        "after recovery"
    );
    assert!(
        ask_tcp(&pair, "api.blocked.test").await.is_none(),
        "no TCP proxy left"
    );
    assert!(!fam.observe(&rec, &base).await.effective);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_error_servfail_and_drop() {
    let pair = NetnsPair::new("dnsfail");
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    for (answer, rcode) in [
        (DnsAnswer::Servfail, Some(2)),
        (DnsAnswer::Refused, Some(5)),
        (DnsAnswer::Drop, None),
    ] {
        let rec = netns_record("dnsfail", dns_error(answer), &pair.a_path());
        let fam = Family::of(&rec.kind);
        fam.apply(&rec).await.unwrap();
        let got = ask_udp(&pair, "x.blocked.test").await;
        assert_eq!(got.as_deref().and_then(wire::rcode), rcode, "{answer:?}");
        assert!(
            upstream_answered(ask_udp(&pair, "ok.test").await),
            "{answer:?}"
        );
        assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
        assert!(
            upstream_answered(ask_udp(&pair, "x.blocked.test").await),
            "{answer:?} recovered"
        );
    }
    assert!(
        !our_tables(&pair).contains("faultline_"),
        "{}",
        our_tables(&pair)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_error_without_a_resolv_conf_is_refused_and_leaves_nothing() {
    let pair = NetnsPair::new("dnsnoconf");
    let rec = netns_record("dnsnoconf", dns_error(DnsAnswer::Nxdomain), &pair.a_path());
    let fam = Family::of(&rec.kind);
    let e = fam.apply(&rec).await.unwrap_err().to_string();
    assert!(e.contains("no resolv.conf"), "{e}");
    assert!(
        !our_tables(&pair).contains("faultline_"),
        "{}",
        our_tables(&pair)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_delay_answers_matching_names_late_and_recovers() {
    let pair = NetnsPair::new("dnsdelay");
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    let rec = netns_record(
        "dnsdelay",
        NodeFault::DnsDelay(DnsDelay {
            patterns: vec!["slow.test".into()],
            latency: SpecDuration::from_millis(400),
            jitter: SpecDuration::ZERO,
            query_types: vec![DnsType::A],
            probability: Some(Percent::new(100.0).unwrap()),
        }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;
    let timed = |name: &'static str| {
        let pair = &pair;
        async move {
            let t = std::time::Instant::now();
            let ok = upstream_answered(ask_udp(pair, name).await);
            (ok, t.elapsed())
        }
    };
    let (ok, late) = timed("slow.test").await;
    assert!(ok && late >= Duration::from_millis(400), "{ok} {late:?}");
    let (ok, quick) = timed("fast.test").await;
    assert!(ok && quick < Duration::from_millis(300), "{ok} {quick:?}");
    let seen = fam.observe(&rec, &base).await;
    assert!(seen.effective, "{}", seen.evidence);
    assert!(
        seen.evidence.contains("1 of 2 queries"),
        "{}",
        seen.evidence
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    let (ok, after) = timed("slow.test").await;
    assert!(ok && after < Duration::from_millis(300), "{ok} {after:?}");
    assert!(
        !our_tables(&pair).contains("faultline_"),
        "{}",
        our_tables(&pair)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_spoof_answers_matching_names_with_its_address_and_recovers() {
    let pair = NetnsPair::new("dnsspoof");
    let _upstream = upstream(&pair);
    let _conf = ResolvConf::new(&pair.a, "10.77.0.2");
    let spoofed: Ipv4Addr = "198.51.100.7".parse().unwrap();
    let rec = netns_record(
        "dnsspoof",
        NodeFault::DnsSpoof(DnsSpoof {
            patterns: vec!["db.*".into()],
            addresses: vec![spoofed.into(), "2001:db8::7".parse().unwrap()],
            random: false,
            ttl: None,
            query_types: Vec::new(),
            probability: None,
        }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;
    let udp = ask_udp(&pair, "db.prod.test").await.unwrap();
    assert_eq!(
        (wire::rcode(&udp), wire::a_records(&udp)),
        (Some(0), vec![spoofed])
    );
    let tcp = ask_tcp(&pair, "db.prod.test").await.unwrap();
    assert_eq!(wire::a_records(&tcp), [spoofed]);
    assert!(upstream_answered(ask_udp(&pair, "web.prod.test").await));
    let seen = fam.observe(&rec, &base).await;
    assert!(
        seen.effective && seen.evidence.contains("2 of 3 queries"),
        "{}",
        seen.evidence
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(upstream_answered(ask_udp(&pair, "db.prod.test").await));
    assert!(
        !our_tables(&pair).contains("faultline_"),
        "{}",
        our_tables(&pair)
    );
}
