//! Network faults against the real kernel: netns pairs joined by veth, created and removed
//! by each test (as root). `ip`/`tc`/`nft` appear only in set-up and cross-checks; the
//! product under test speaks netlink.

mod support;

use faultline_agent::faults::{Family, Fault, shaping::HANDLE};
use faultline_agent::netlink::Netlink;
use faultline_agent::{FaultError, Recovered};
use faultline_spec::fault::{NetworkBandwidth, NetworkDelay, NetworkPartition};
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

/// Our root qdiscs in a netns, read through our netlink code.
async fn our_roots(path: &std::path::Path) -> Vec<String> {
    let nl = Netlink::open(path).unwrap();
    nl.qdisc()
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|q| q.is_root() && q.handle == u32::from(HANDLE) << 16)
        .map(|q| format!("{}@{}", q.kind, q.ifindex))
        .collect()
}

#[tokio::test]
async fn bandwidth_limits_a_tcp_transfer_and_recovers() {
    let pair = NetnsPair::new("bw");
    let before = pair.tc_show_a();
    let base = pair.throughput_a_to_b(2_000_000);
    let rec = netns_record("bw", tbf("4mbit", NetworkScope::default()), &pair.a_path());
    let fam = Family::of(&rec.kind);

    fam.apply(&rec).await.unwrap();
    assert_eq!(
        our_roots(&pair.a_path()).await,
        [format!("tbf@{}", pair.a_ifindex())]
    );
    assert!(
        pair.tc_show_a().contains("qdisc tbf fa17: dev va root"),
        "{}",
        pair.tc_show_a()
    );
    let limited = pair.throughput_a_to_b(1_500_000);
    // 4 Mbit/s = 500 kB/s. Generous band for a shared machine; unlimited veth is >50x that.
    assert!(
        (250_000.0..650_000.0).contains(&limited),
        "limited to {limited:.0} B/s (unlimited {base:.0})"
    );
    assert!(
        base > 3.0 * limited,
        "unlimited {base:.0} vs limited {limited:.0}"
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(our_roots(&pair.a_path()).await.is_empty());
    assert_eq!(pair.tc_show_a(), before);
}

/// A peak rate (Chaos Mesh `bandwidth.peakrate`/`minburst`): the kernel holds tbf's second
/// bucket as asked (read back with `tc`, which decodes the qdisc's dump), and it goes
/// with the fault.
#[tokio::test]
async fn bandwidth_with_a_peak_rate_puts_it_in_the_kernel_and_recovers() {
    let pair = NetnsPair::new("peak");
    let before = pair.tc_show_a();
    let NodeFault::NetworkBandwidth(mut b) = tbf("800kbit", NetworkScope::default()) else {
        unreachable!()
    };
    b.buffer = Bytes(10_000);
    b.peakrate = Some("1mbit".parse().unwrap());
    b.minburst = Some(Bytes(1500));
    let rec = netns_record("peak", NodeFault::NetworkBandwidth(b), &pair.a_path());
    let fam = Family::of(&rec.kind);

    let applied = fam.apply(&rec).await;
    let shown = pair.tc_show_a();
    let recovered = fam.recover(&rec).await;
    applied.unwrap();
    assert!(
        shown.contains("qdisc tbf fa17: dev va root")
            && shown.contains("rate 800Kbit burst 10000b peakrate 1Mbit minburst 1500b"),
        "{shown}"
    );
    assert_eq!(recovered.unwrap(), Recovered::Removed);
    assert!(our_roots(&pair.a_path()).await.is_empty());
    assert_eq!(pair.tc_show_a(), before);
}

/// A Chaos Mesh manifest's `rate: 1mbps` is tc's unit (Chaos Mesh hands the string to tc):
/// one megabyte per second. Imported and applied, the kernel holds 8 Mbit/s, read back with
/// `tc`; a peakrate written as a bare number is bits per second, as tc reads it.
#[tokio::test]
async fn a_chaos_mesh_1mbps_rate_is_8mbit_in_the_kernel() {
    let manifest = "apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata: { name: bw }
spec:
  action: bandwidth
  mode: all
  selector: { namespaces: [a] }
  bandwidth: { rate: 1mbps, limit: 20971520, buffer: 10000, peakrate: 9000000, minburst: 1500 }
  duration: 30s
";
    let exp = faultline_spec::load_str(manifest, "bw.yaml").expect("imports");
    let faultline_spec::Step::Fault(step) = &exp[0].spec.steps[0] else {
        panic!("{:?}", exp[0].spec.steps)
    };
    let kind = step.fault.to_node().expect("a node fault");
    let pair = NetnsPair::new("cm1mbps");
    let before = pair.tc_show_a();
    let rec = netns_record("cm1mbps", kind, &pair.a_path());
    let fam = Family::of(&rec.kind);

    let applied = fam.apply(&rec).await;
    let shown = pair.tc_show_a();
    let recovered = fam.recover(&rec).await;
    applied.unwrap();
    assert!(
        shown.contains("qdisc tbf fa17: dev va root")
            // (tc prints minburst back from the kernel's tick-rounded value: 1499b here)
            && shown.contains("rate 8Mbit burst 10000b peakrate 9Mbit minburst"),
        "{shown}"
    );
    assert_eq!(recovered.unwrap(), Recovered::Removed);
    assert_eq!(pair.tc_show_a(), before);
}

/// A peak at the rate is refused before the kernel is touched (the kernel would say only
/// EINVAL), and nothing is left.
#[tokio::test]
async fn a_peak_rate_at_the_rate_is_refused_and_changes_nothing() {
    let pair = NetnsPair::new("peak0");
    let before = pair.tc_show_a();
    let NodeFault::NetworkBandwidth(mut b) = tbf("1mbit", NetworkScope::default()) else {
        unreachable!()
    };
    b.peakrate = Some("1mbit".parse().unwrap());
    b.minburst = Some(Bytes(1500));
    let rec = netns_record("peak0", NodeFault::NetworkBandwidth(b), &pair.a_path());
    let e = Family::of(&rec.kind).apply(&rec).await.unwrap_err();
    assert!(e.to_string().contains("must be above rate"), "{e}");
    assert_eq!(pair.tc_show_a(), before);
}

#[tokio::test]
async fn apply_twice_is_apply_once_and_recover_twice_is_fine() {
    let pair = NetnsPair::new("idem");
    let rec = netns_record(
        "idem",
        tbf("10mbit", NetworkScope::default()),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.apply(&rec).await.unwrap();
    assert_eq!(our_roots(&pair.a_path()).await.len(), 1);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
    assert!(our_roots(&pair.a_path()).await.is_empty());
}

#[tokio::test]
async fn from_direction_shapes_received_traffic_through_an_ifb() {
    let pair = NetnsPair::new("from");
    let before = pair.tc_show_a();
    let scope = NetworkScope {
        direction: Direction::From,
        ..NetworkScope::default()
    };
    let rec = netns_record("from", tbf("4mbit", scope), &pair.a_path());
    let fam = Family::of(&rec.kind);
    match fam.apply(&rec).await {
        Ok(()) => {}
        Err(e @ FaultError::ModuleMissing { .. }) => {
            panic!("this kernel lacks a module for `from`: {e}")
        }
        Err(e) => panic!("{e}"),
    }
    let links = sh(&format!("ip -n {} -o link show", pair.a));
    assert!(links.contains("flifb"), "{links}");
    // a receives from b: b -> a is limited, a -> b is not.
    let limited = pair.throughput_b_to_a(1_500_000);
    assert!(
        (250_000.0..650_000.0).contains(&limited),
        "b->a {limited:.0} B/s"
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert!(!sh(&format!("ip -n {} -o link show", pair.a)).contains("flifb"));
    assert_eq!(pair.tc_show_a(), before);
}

#[tokio::test]
async fn one_bad_interface_undoes_the_others() {
    let pair = NetnsPair::new("aon");
    // A second veth whose ingress already belongs to "another tool".
    sh(&format!(
        "ip -n {a} link add vc type veth peer name vd && ip -n {a} link set vc up",
        a = pair.a
    ));
    sh(&format!(
        "tc -n {} qdisc add dev vc handle ffff: ingress",
        pair.a
    ));
    let before = pair.tc_show_a();
    let scope = NetworkScope {
        direction: Direction::Both,
        ..NetworkScope::default()
    };
    let rec = netns_record("aon", tbf("10mbit", scope), &pair.a_path());
    let fam = Family::of(&rec.kind);
    let e = fam.apply(&rec).await.unwrap_err();
    assert!(e.to_string().contains("ingress"), "{e}");
    assert!(
        our_roots(&pair.a_path()).await.is_empty(),
        "{:?}",
        our_roots(&pair.a_path()).await
    );
    assert!(!sh(&format!("ip -n {} -o link show", pair.a)).contains("flifb"));
    assert_eq!(pair.tc_show_a(), before);
}

#[tokio::test]
async fn a_missing_device_changes_nothing() {
    let pair = NetnsPair::new("dev");
    let before = pair.tc_show_a();
    let scope = NetworkScope {
        device: Some("nosuch0".into()),
        ..NetworkScope::default()
    };
    let rec = netns_record("dev", tbf("10mbit", scope), &pair.a_path());
    let e = Family::of(&rec.kind).apply(&rec).await.unwrap_err();
    assert!(
        matches!(e, FaultError::TargetNotFound(_)) && e.to_string().contains("nosuch0"),
        "{e}"
    );
    assert_eq!(pair.tc_show_a(), before);
}

#[tokio::test]
async fn recover_after_the_netns_is_gone_is_target_gone() {
    let mut pair = NetnsPair::new("gone");
    let rec = netns_record(
        "gone",
        tbf("10mbit", NetworkScope::default()),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    pair.delete_a();
    assert!(matches!(
        fam.recover(&rec).await.unwrap(),
        Recovered::TargetGone(_)
    ));
}

#[tokio::test]
async fn netem_either_works_or_says_the_module_is_missing_and_changes_nothing() {
    let pair = NetnsPair::new("netem");
    let before = pair.tc_show_a();
    let kind = NodeFault::NetworkDelay(NetworkDelay {
        latency: Duration::from_millis(10),
        jitter: Duration::ZERO,
        correlation: Percent::default(),
        scope: NetworkScope::default(),
    });
    let rec = netns_record("netem", kind, &pair.a_path());
    let fam = Family::of(&rec.kind);
    match fam.apply(&rec).await {
        Ok(()) => {
            // A kernel with sch_netem (the QEMU tier): the qdisc is there, then gone.
            assert!(
                pair.tc_show_a().contains("qdisc netem fa17: dev va root"),
                "{}",
                pair.tc_show_a()
            );
            assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                matches!(
                    e,
                    FaultError::ModuleMissing {
                        module: "sch_netem",
                        ..
                    }
                ),
                "{msg}"
            );
            assert!(
                msg.contains("linux-image-") && msg.contains("kernel-modules-extra"),
                "{msg}"
            );
            assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
        }
    }
    assert_eq!(pair.tc_show_a(), before);
}

#[tokio::test]
async fn partition_drops_peer_traffic_both_ways_and_recovers() {
    let pair = NetnsPair::new("part");
    assert!(
        pair.tcp_connects_a_to_b(),
        "no connectivity before the fault"
    );
    assert!(pair.udp_echo_b_to_a(), "no UDP before the fault");
    let scope = NetworkScope {
        peers: vec![pair.b_addr().parse().unwrap()],
        ..NetworkScope::default()
    };
    let rec = netns_record(
        "part",
        NodeFault::NetworkPartition(NetworkPartition { scope }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.apply(&rec).await.unwrap(); // idempotent
    let tables = sh(&format!("ip netns exec {} nft list tables", pair.a));
    assert_eq!(tables.matches("faultline_part").count(), 1, "{tables}");
    assert!(
        !pair.tcp_connects_a_to_b(),
        "a -> b still connects during the partition"
    );
    assert!(
        !pair.udp_echo_b_to_a(),
        "b -> a still answers during the partition"
    );
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
    assert!(!sh(&format!("ip netns exec {} nft list tables", pair.a)).contains("faultline"));
    assert!(pair.tcp_connects_a_to_b(), "no connectivity after recovery");
    assert!(pair.udp_echo_b_to_a(), "no UDP after recovery");
}

#[tokio::test]
async fn partition_of_a_gone_netns_is_target_gone() {
    let mut pair = NetnsPair::new("pgone");
    let scope = NetworkScope {
        peers: vec![pair.b_addr().parse().unwrap()],
        ..NetworkScope::default()
    };
    let rec = netns_record(
        "pgone",
        NodeFault::NetworkPartition(NetworkPartition { scope }),
        &pair.a_path(),
    );
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    pair.delete_a();
    assert!(matches!(
        fam.recover(&rec).await.unwrap(),
        Recovered::TargetGone(_)
    ));
}

/// Whether a TCP connection from a to b's `port` is accepted within 1 s.
fn a_connects_to_b(pair: &NetnsPair, port: u16) -> bool {
    let addr: std::net::SocketAddr = format!("10.77.0.2:{port}").parse().unwrap();
    faultline_test_support::in_netns(&pair.a_path(), move || {
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).is_ok()
    })
}

/// The table's rules, as `nft` lists them (a cross-check independent of our JSON).
fn listed(pair: &NetnsPair, table: &str) -> String {
    sh(&format!(
        "ip netns exec {} nft list table inet {table} 2>&1 || true",
        pair.a
    ))
}

/// A partition from one peer on one port (Chaos Mesh `externalTargets: ["IP:PORT"]`):
/// TCP to that port of b is dropped while another port of the same b still connects, and
/// recovery leaves nothing (a panic on the way drops the namespaces, and the table with them).
#[tokio::test]
async fn partition_of_a_peer_port_drops_that_port_only_and_recovers() {
    let pair = NetnsPair::new("pport");
    // Below the ephemeral range, so a's source ports never equal them (a pair matches
    // either side's port, as `ports` do).
    let cut = 20_000 + (std::process::id() % 10_000) as u16;
    let open = cut + 1;
    let _listeners: Vec<std::net::TcpListener> = [cut, open]
        .into_iter()
        .map(|p| {
            faultline_test_support::in_netns(&pair.b_path(), move || {
                std::net::TcpListener::bind(("0.0.0.0", p))
            })
            .unwrap()
        })
        .collect();
    assert!(a_connects_to_b(&pair, cut), "no connection to {cut} before");
    assert!(
        a_connects_to_b(&pair, open),
        "no connection to {open} before"
    );

    let scope = NetworkScope {
        peer_ports: vec![format!("10.77.0.2:{cut}").parse().unwrap()],
        ..NetworkScope::default()
    };
    let rec = netns_record(
        "pport",
        NodeFault::NetworkPartition(NetworkPartition { scope }),
        &pair.a_path(),
    );
    let table = faultline_agent::faults::partition::table_name(&rec);
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    fam.apply(&rec).await.unwrap(); // idempotent
    let rules = listed(&pair, &table);
    // Both chains, either side's port; each rule counts what it drops (`observe` reads it).
    for rule in [
        format!("ip saddr 10.77.0.2 th sport {cut} counter packets "),
        format!("ip saddr 10.77.0.2 th dport {cut} counter packets "),
        format!("ip daddr 10.77.0.2 th sport {cut} counter packets "),
        format!("ip daddr 10.77.0.2 th dport {cut} counter packets "),
    ] {
        assert_eq!(rules.matches(&rule).count(), 1, "{rule}: {rules}");
    }
    assert_eq!(rules.matches(" drop").count(), 4, "{rules}");
    assert!(
        !a_connects_to_b(&pair, cut),
        "a -> b:{cut} still connects during the partition"
    );
    assert!(
        a_connects_to_b(&pair, open),
        "a -> b:{open} was cut too: the pair's port must narrow its peer"
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::AlreadyGone);
    assert!(!sh(&format!("ip netns exec {} nft list tables", pair.a)).contains("faultline"));
    assert!(
        a_connects_to_b(&pair, cut),
        "no connection to {cut} after recovery"
    );
    assert!(
        a_connects_to_b(&pair, open),
        "no connection to {open} after recovery"
    );
}
