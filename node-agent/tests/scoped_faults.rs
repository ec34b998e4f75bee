//! Peer/port-scoped qdisc faults against the real kernel: only the scoped traffic is
//! shaped, the rest of the same interface is not, and recovery leaves nothing behind (our
//! netlink read, `tc qdisc show`, `tc class show`, `tc filter show`, `ip link`).

mod support;

use faultline_agent::faults::{Family, Fault, shaping::HANDLE};
use faultline_agent::netlink::Netlink;
use faultline_agent::{FaultError, Recovered};
use faultline_spec::fault::{NetworkBandwidth, NetworkDelay};
use faultline_spec::{BitRate, Bytes, Direction, Duration, NetworkScope, NodeFault, Percent};
use faultline_test_support::{NetnsPair, sh};
use support::netns_record;

fn tbf(rate: &str, scope: NetworkScope) -> NodeFault {
    NodeFault::NetworkBandwidth(NetworkBandwidth {
        rate: rate.parse::<BitRate>().unwrap(),
        limit: Bytes(64 * 1024),
        buffer: Bytes(16 * 1024),
        peakrate: None,
        minburst: None,
        scope,
    })
}

fn scope(direction: Direction, peers: &[&str], ports: &[u16]) -> NetworkScope {
    NetworkScope {
        direction,
        peers: peers.iter().map(|p| p.parse().unwrap()).collect(),
        ports: ports.to_vec(),
        ..NetworkScope::default()
    }
}

/// Our root qdiscs and everything under them in a netns, read through our netlink code.
async fn ours(path: &std::path::Path) -> Vec<String> {
    let nl = Netlink::open(path).unwrap();
    let all = nl.qdisc().list(None).await.unwrap();
    let roots: Vec<_> = all
        .iter()
        .filter(|q| q.is_root() && q.handle == u32::from(HANDLE) << 16)
        .collect();
    let mut out: Vec<String> = roots
        .iter()
        .map(|q| format!("{}@{}", q.kind, q.ifindex))
        .collect();
    // Children of our roots (the fault qdisc under class fa17:1).
    out.extend(
        all.iter()
            .filter(|q| q.parent >> 16 == u32::from(HANDLE) && !q.is_root())
            .map(|q| format!("{}<{}", q.kind, q.ifindex)),
    );
    out
}

/// `tc qdisc`, `class` and `filter show` of every interface in `ns`.
fn tc_all(ns: &str) -> String {
    let mut s = sh(&format!("tc -n {ns} qdisc show"));
    for dev in sh(&format!("ip -n {ns} -o link show"))
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|d| d.trim().split('@').next().unwrap().to_string())
    {
        s += &sh(&format!("tc -n {ns} class show dev {dev}"));
        s += &sh(&format!("tc -n {ns} filter show dev {dev}"));
    }
    s
}

/// A pair whose side b also answers on 10.77.0.3: a second address behind the same veth.
fn pair_with_two_addresses(tag: &str) -> NetnsPair {
    let pair = NetnsPair::new(tag);
    sh(&format!("ip -n {} addr add 10.77.0.3/24 dev vb", pair.b));
    pair
}

fn a_to(pair: &NetnsPair, ip: &str, port: u16) -> f64 {
    NetnsPair::throughput(&pair.a_path(), &pair.b_path(), ip, port, 1_500_000)
}

/// 4 Mbit/s = 500 kB/s; a generous band on a shared machine (unlimited veth is >50x).
fn assert_limited(bps: f64, what: &str) {
    assert!(
        (250_000.0..650_000.0).contains(&bps),
        "{what}: {bps:.0} B/s"
    );
}

fn assert_unlimited(bps: f64, limited: f64, what: &str) {
    assert!(
        bps > 3.0 * limited,
        "{what}: {bps:.0} B/s vs limited {limited:.0}"
    );
}

#[tokio::test]
async fn bandwidth_to_one_peer_spares_another_address_on_the_same_interface() {
    let pair = pair_with_two_addresses("peer");
    let before = tc_all(&pair.a);
    let rec = netns_record(
        "peer",
        tbf("4mbit", scope(Direction::To, &["10.77.0.2/32"], &[])),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    // Applying twice leaves one tree, not two sets of filters.
    fam.apply(&rec).await.unwrap();

    let va = pair.a_ifindex();
    assert_eq!(
        ours(&pair.a_path()).await,
        [format!("htb@{va}"), format!("tbf<{va}")]
    );
    let filters = sh(&format!("tc -n {} filter show dev va", pair.a));
    assert_eq!(
        filters.matches("match 0a4d0002/ffffffff at 16").count(),
        1,
        "{filters}"
    );
    assert!(filters.contains("flowid fa17:1"), "{filters}");

    let limited = a_to(&pair, "10.77.0.2", 0);
    assert_limited(limited, "a -> peer 10.77.0.2");
    let other = a_to(&pair, "10.77.0.3", 0);
    assert_unlimited(other, limited, "a -> 10.77.0.3 (not a peer)");

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(ours(&pair.a_path()).await.is_empty());
    assert_eq!(tc_all(&pair.a), before);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
}

#[tokio::test]
async fn bandwidth_on_one_port_spares_other_ports() {
    let pair = NetnsPair::new("port");
    let before = tc_all(&pair.a);
    // Below the ephemeral range, so the "other port" transfer never lands on it.
    let port = 20_000 + (std::process::id() % 10_000) as u16;
    let rec = netns_record(
        "port",
        tbf("4mbit", scope(Direction::To, &[], &[port])),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let filters = sh(&format!("tc -n {} filter show dev va", pair.a));
    // One IPv4 and one IPv6 filter on the destination port.
    assert!(
        filters.contains(&format!("match 0000{port:04x}/0000ffff at 20")),
        "{filters}"
    );
    assert!(
        filters.contains(&format!("match 0000{port:04x}/0000ffff at 40")),
        "{filters}"
    );

    let limited = a_to(&pair, "10.77.0.2", port);
    assert_limited(limited, "a -> b:{port}");
    let other = a_to(&pair, "10.77.0.2", 0);
    assert_unlimited(other, limited, "a -> b:other port");

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(ours(&pair.a_path()).await.is_empty());
    assert_eq!(tc_all(&pair.a), before);
}

#[tokio::test]
async fn from_direction_matches_the_source_of_received_traffic() {
    let pair = NetnsPair::new("src");
    let before = tc_all(&pair.a);
    let links_before = sh(&format!("ip -n {} -o link show", pair.a));

    // b (10.77.0.2) is the peer: what a receives from it is limited.
    let rec = netns_record(
        "src",
        tbf("4mbit", scope(Direction::From, &["10.77.0.2/32"], &[])),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let ifb = format!("flifb{}", pair.a_ifindex());
    let filters = sh(&format!("tc -n {} filter show dev {ifb}", pair.a));
    assert!(
        filters.contains("match 0a4d0002/ffffffff at 12"),
        "{filters}"
    );
    let limited = pair.throughput_b_to_a(1_500_000);
    assert_limited(limited, "b -> a from the peer");
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);

    // Another peer: b's traffic passes the IFB unshaped.
    let rec = netns_record(
        "src2",
        tbf("4mbit", scope(Direction::From, &["10.77.0.3/32"], &[])),
        &pair.a_path(),
    );
    fam.apply(&rec).await.unwrap();
    let free = pair.throughput_b_to_a(1_500_000);
    assert_unlimited(free, limited, "b -> a, b not a peer");
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);

    assert!(ours(&pair.a_path()).await.is_empty());
    assert_eq!(tc_all(&pair.a), before);
    assert_eq!(sh(&format!("ip -n {} -o link show", pair.a)), links_before);
}

#[tokio::test]
async fn ipv6_and_ipv4_peers_with_ports_both_ways_install_and_go() {
    let pair = NetnsPair::new("both");
    let before = tc_all(&pair.a);
    let rec = netns_record(
        "both",
        tbf(
            "100mbit",
            scope(Direction::Both, &["fd00:77::/64", "10.0.0.0/8"], &[80, 443]),
        ),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let egress = sh(&format!("tc -n {} filter show dev va", pair.a));
    let ifb = sh(&format!(
        "tc -n {} filter show dev flifb{}",
        pair.a,
        pair.a_ifindex()
    ));
    for (dump, addr_at, port_mask) in [(&egress, 24, "0000ffff"), (&ifb, 8, "ffff0000")] {
        // 2 peers x 2 ports, each filter its own entry.
        assert_eq!(dump.matches("flowid fa17:1").count(), 4, "{dump}");
        assert!(
            dump.contains(&format!("match fd000077/ffffffff at {addr_at}")),
            "{dump}"
        );
        assert!(dump.contains("protocol ipv6"), "{dump}");
        assert!(dump.contains(&format!("/{port_mask} at 40")), "{dump}");
        assert!(dump.contains(&format!("/{port_mask} at 20")), "{dump}");
    }
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(ours(&pair.a_path()).await.is_empty());
    assert_eq!(tc_all(&pair.a), before);
}

#[tokio::test]
async fn scoped_netem_either_works_or_says_the_module_is_missing_and_changes_nothing() {
    let pair = NetnsPair::new("snetem");
    let before = tc_all(&pair.a);
    let kind = NodeFault::NetworkDelay(NetworkDelay {
        latency: Duration::from_millis(10),
        jitter: Duration::ZERO,
        correlation: Percent::default(),
        scope: scope(Direction::To, &["10.77.0.2/32"], &[]),
    });
    let rec = netns_record("snetem", kind, &pair.a_path());
    let fam = Family::of(&rec.kind);
    match fam.apply(&rec).await {
        Ok(()) => {
            let va = pair.a_ifindex();
            assert_eq!(
                ours(&pair.a_path()).await,
                [format!("htb@{va}"), format!("netem<{va}")]
            );
            assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    FaultError::ModuleMissing {
                        module: "sch_netem",
                        ..
                    }
                ),
                "{e}"
            );
            assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
        }
    }
    assert_eq!(tc_all(&pair.a), before);
}

/// A bandwidth limit on one peer's one port (`peerPorts`, Chaos Mesh `externalTargets:
/// ["IP:PORT"]`): one u32 filter on that address and port, read back with `tc`; transfers to
/// that port are limited and to another port of the same peer are not; recovery leaves the
/// interface as it was.
#[tokio::test]
async fn bandwidth_to_one_peer_port_spares_its_other_ports() {
    let pair = pair_with_two_addresses("pport");
    let before = tc_all(&pair.a);
    // Below the ephemeral range, so the "other port" transfer never lands on it.
    let port = 20_000 + (std::process::id() % 10_000) as u16;
    let scope = NetworkScope {
        peer_ports: vec![format!("10.77.0.2:{port}").parse().unwrap()],
        ..NetworkScope::default()
    };
    let rec = netns_record("pport", tbf("4mbit", scope), &pair.a_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.apply(&rec).await.unwrap(); // one tree, not two sets of filters

    let va = pair.a_ifindex();
    assert_eq!(
        ours(&pair.a_path()).await,
        [format!("htb@{va}"), format!("tbf<{va}")]
    );
    let filters = sh(&format!("tc -n {} filter show dev va", pair.a));
    // Exactly one filter: the peer and its port together (no IPv6 port-only twin).
    assert_eq!(filters.matches("flowid fa17:1").count(), 1, "{filters}");
    assert!(
        filters.contains("match 0a4d0002/ffffffff at 16"),
        "{filters}"
    );
    assert!(
        filters.contains(&format!("match 0000{port:04x}/0000ffff at 20")),
        "{filters}"
    );

    let limited = a_to(&pair, "10.77.0.2", port);
    assert_limited(limited, "a -> b:{port}");
    let other_port = a_to(&pair, "10.77.0.2", 0);
    assert_unlimited(other_port, limited, "a -> b:another port");
    let other_peer = a_to(&pair, "10.77.0.3", port);
    assert_unlimited(
        other_peer,
        limited,
        "a -> 10.77.0.3:{port} (not the pair's peer)",
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(ours(&pair.a_path()).await.is_empty());
    assert_eq!(tc_all(&pair.a), before);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
}

/// Pairs of both families beside peers x ports, both directions: each pair is one filter
/// on each side (destination on the interface, source on the IFB), added to the peers x
/// ports ones, and everything goes on recovery.
#[tokio::test]
async fn peer_ports_of_both_families_add_one_filter_each_both_ways() {
    let pair = NetnsPair::new("pp6");
    let before = tc_all(&pair.a);
    let mut s = scope(Direction::Both, &["10.0.0.0/8"], &[80]);
    s.peer_ports = vec![
        "192.0.2.20:8080".parse().unwrap(),
        "[fd00:77::1]:443".parse().unwrap(),
    ];
    let rec = netns_record("pp6", tbf("100mbit", s), &pair.a_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let egress = sh(&format!("tc -n {} filter show dev va", pair.a));
    let ifb = sh(&format!(
        "tc -n {} filter show dev flifb{}",
        pair.a,
        pair.a_ifindex()
    ));
    for (dump, v4_at, v6_at, mask, port_8080, port_443) in [
        (&egress, 16, 24, "0000ffff", "00001f90", "000001bb"),
        (&ifb, 12, 8, "ffff0000", "1f900000", "01bb0000"),
    ] {
        // 1 peer x 1 port, then the 2 pairs.
        assert_eq!(dump.matches("flowid fa17:1").count(), 3, "{dump}");
        assert!(
            dump.contains(&format!("match c0000214/ffffffff at {v4_at}")),
            "{dump}"
        );
        assert!(
            dump.contains(&format!("match {port_8080}/{mask} at 20")),
            "{dump}"
        );
        assert!(
            dump.contains(&format!("match fd000077/ffffffff at {v6_at}")),
            "{dump}"
        );
        assert!(
            dump.contains(&format!("match {port_443}/{mask} at 40")),
            "{dump}"
        );
    }
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(ours(&pair.a_path()).await.is_empty());
    assert_eq!(tc_all(&pair.a), before);
}
