//! A DNS fault, and its removal, take effect at once for a client that keeps its UDP
//! source port. NAT is decided at a flow's first packet and kept in its conntrack entry,
//! so without the agent forgetting port 53's entries at apply and at recover, such a
//! client goes on reaching the real nameserver during the fault and the stopped proxy
//! after it (for up to 120 s).
//!
//! The target namespace (a) already NATs its own output, as a host running kube-proxy or
//! Docker does (a service address DNAT'ed in an `output` nat chain): then the kernel
//! tracks a's flows before the fault, and keeps translating by the entries after the
//! fault's chain is gone. In a namespace where nothing else tracks or NATs, no entry
//! outlives the fault's table and the problem cannot arise. Its nameserver is a one-name
//! UDP responder in b.

mod support;

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use faultline_agent::Recovered;
use faultline_agent::dnsproxy::wire;
use faultline_agent::faults::{Family, Fault};
use faultline_spec::NodeFault;
use faultline_spec::fault::{DnsAnswer, DnsError};
use faultline_test_support::{NetnsPair, in_netns, sh};
use support::netns_record;

/// What the nameserver answers every A query with.
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
/// The client's fixed source port.
const CLIENT_PORT: u16 = 40053;

/// A UDP DNS responder on b's 10.77.0.2:53; stops on drop.
struct Nameserver {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Nameserver {
    fn start(pair: &NetnsPair) -> Nameserver {
        let sock = in_netns(&pair.b_path(), || UdpSocket::bind("10.77.0.2:53")).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(q) = wire::question(&buf[..n]) {
                    let r = wire::address_response(&buf[..n], &q, &[UPSTREAM_ANSWER.into()], 60);
                    let _ = sock.send_to(&r, from);
                }
            }
        });
        Nameserver {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Nameserver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `/etc/netns/<a>/resolv.conf` naming b; removed on drop.
struct ResolvConf(std::path::PathBuf);

impl Drop for ResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn resolv_conf(pair: &NetnsPair) -> ResolvConf {
    let dir = std::path::PathBuf::from(format!("/etc/netns/{}", pair.a));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("resolv.conf"), "nameserver 10.77.0.2\n").unwrap();
    ResolvConf(dir)
}

/// One query from a, from [`CLIENT_PORT`] each time (a fresh socket on the same port, as
/// a restarted stub resolver binds it): the rcode and A records, `None` after 1 s.
async fn ask(pair: &NetnsPair, name: &str) -> Option<(u8, Vec<Ipv4Addr>)> {
    let (path, q) = (pair.a_path(), wire::query(0x5353, name, 1));
    tokio::task::spawn_blocking(move || {
        let sock = in_netns(&path, || UdpSocket::bind(("0.0.0.0", CLIENT_PORT))).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        sock.send_to(&q, "10.77.0.2:53").unwrap();
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).ok()?;
        Some((wire::rcode(&buf[..n])?, wire::a_records(&buf[..n])))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_a_fixed_source_port_sees_the_fault_and_its_end() {
    let pair = NetnsPair::new("dnsct");
    let _ns = Nameserver::start(&pair);
    let _conf = resolv_conf(&pair);
    sh(&format!(
        "ip netns exec {} nft add table ip host_nat \\; \
         add chain ip host_nat out '{{ type nat hook output priority -100 ; }}' \\; \
         add rule ip host_nat out ip daddr 10.96.0.1 tcp dport 443 dnat to 10.77.0.2:443",
        pair.a
    ));
    let real = Some((0, vec![UPSTREAM_ANSWER]));
    assert_eq!(
        ask(&pair, "api.blocked.test").await,
        real,
        "before the fault"
    );

    let kind = NodeFault::DnsError(DnsError {
        patterns: vec!["*.blocked.test".into()],
        answer: DnsAnswer::Nxdomain,
        query_types: Vec::new(),
        probability: None,
    });
    let rec = netns_record("dnsct", kind, &pair.a_path());
    let fam = Family::of(&rec.kind);
    fam.apply(&rec).await.unwrap();
    let base = fam.baseline(&rec).await;
    assert_eq!(
        ask(&pair, "api.blocked.test").await,
        Some((3, vec![])),
        "during the fault, from the port the query before it used: NXDOMAIN"
    );
    let seen = fam.observe(&rec, &base).await;
    assert!(
        seen.effective
            && seen
                .evidence
                .contains("1 of 1 queries answered with the fault"),
        "{}",
        seen.evidence
    );

    assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
    let tables = sh(&format!("ip netns exec {} nft list tables", pair.a));
    assert!(!tables.contains("faultline_"), "{tables}");
    assert_eq!(
        ask(&pair, "api.blocked.test").await,
        real,
        "after recovery, from the same port: the nameserver again"
    );
}
