//! P10: the DNS faults' resolver as a pass-through. A client in a network namespace (a)
//! asks b's nameserver (10.77.0.2:53, a minimal UDP responder this bench runs in b) over
//! real sockets, first directly, then with a DNS fault applied whose pattern matches no
//! name asked, so that every query goes through the nft redirect and the agent's proxy
//! and is forwarded upstream. Side by side, alternating, in one run:
//!
//! - throughput: `CLIENTS` threads, each with one query in flight (closed loop), for
//!   `SECONDS`; answered queries per second;
//! - latency: one query in flight, `LATENCY_QUERIES` in a row; the median round trip.
//!
//! The load generator is this bench's own Rust client (std UDP sockets) and shares the two
//! cores with the proxy and the responder, in both modes alike. Run as root:
//! `cargo bench -p faultline-agent --bench dns_passthrough`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use faultline_agent::Recovered;
use faultline_agent::dnsproxy::wire;
use faultline_agent::faults::{Family, Fault, FaultRecord};
use faultline_spec::NodeFault;
use faultline_spec::fault::{DnsAnswer, DnsError};
use faultline_test_support::bench::report;
use faultline_test_support::{NetnsPair, ResolvConf, UdpResponder, in_netns, sh};
use support::netns_record;

const SERVER: &str = "10.77.0.2:53";
/// Concurrent clients of the throughput phase, one query in flight each.
const CLIENTS: usize = 32;

/// b's nameserver on [`SERVER`], answering each query at once with its own bytes, QR set
/// (NOERROR, no records): cheap enough not to be what is measured.
fn responder(pair: &NetnsPair) -> UdpResponder {
    UdpResponder::start(&pair.b_path(), &[SERVER], |query, reply| {
        if query.len() >= 12 {
            reply.extend_from_slice(query);
            reply[2] |= 0x80;
        }
    })
}

/// The next client port: each socket of the run gets its own. With kernel-chosen ports a
/// new socket now and then got the port of an earlier one, whose conntrack entry (kept
/// 120 s) still said where that flow went: around the proxy, or to a proxy recovered
/// since (an ICMP error per query). Fresh tuples measure fresh flows only.
static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(20000);

/// A client socket in a, waiting at most 1 s for an answer.
fn client(pair: &NetnsPair) -> UdpSocket {
    let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
    let s = in_netns(&pair.a_path(), move || UdpSocket::bind(("0.0.0.0", port))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.connect(SERVER).unwrap();
    s
}

/// One query and its answer (the answer with the query's id); false on a timeout.
fn ask(sock: &UdpSocket, query: &mut [u8], id: u16, buf: &mut [u8]) -> bool {
    query[..2].copy_from_slice(&id.to_be_bytes());
    if sock.send(query).is_err() {
        return false;
    }
    loop {
        match sock.recv(buf) {
            // An answer (QR set) to this query (its id).
            Ok(n) if n >= 12 && buf[..2] == query[..2] && buf[2] & 0x80 != 0 => return true,
            Ok(_) => continue, // a late answer to an earlier query
            Err(_) => return false,
        }
    }
}

/// Answered queries per second over `secs`, `CLIENTS` closed loops; the timeouts; the
/// answered queries.
fn throughput(pair: &NetnsPair, secs: f64) -> (f64, u64, f64) {
    let answered = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let sock = client(pair);
            let (answered, lost) = (answered.clone(), lost.clone());
            std::thread::spawn(move || {
                let mut q = wire::query(0, &format!("host-{i}.bench.test"), 1);
                let mut buf = [0u8; 512];
                let mut id = 0u16;
                while Instant::now() < until {
                    id = id.wrapping_add(1);
                    if ask(&sock, &mut q, id, &mut buf) {
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    let took = start.elapsed().as_secs_f64().max(secs);
    let n = answered.load(Ordering::Relaxed) as f64;
    (n / took, lost.load(Ordering::Relaxed), n)
}

/// The median round trip in microseconds of `n` queries in a row, one in flight.
fn latency_p50(pair: &NetnsPair, n: usize) -> f64 {
    let sock = client(pair);
    let mut q = wire::query(0, "one.bench.test", 1);
    let mut buf = [0u8; 512];
    let mut rtts: Vec<f64> = (0..n)
        .filter_map(|i| {
            let t = Instant::now();
            ask(&sock, &mut q, i as u16, &mut buf).then(|| t.elapsed().as_secs_f64() * 1e6)
        })
        .collect();
    assert!(rtts.len() * 10 >= n * 9, "more than 10% of queries lost");
    rtts.sort_by(f64::total_cmp);
    rtts[rtts.len() / 2]
}

/// A DNS fault that matches no name this bench asks: everything is passed through.
fn pass_through(pair: &NetnsPair) -> FaultRecord {
    netns_record(
        "p10dns",
        NodeFault::DnsError(DnsError {
            patterns: vec!["no-such-name.invalid".into()],
            answer: DnsAnswer::Nxdomain,
            query_types: Vec::new(),
            probability: None,
        }),
        &pair.a_path(),
    )
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = report::reps(5, 2);
    let secs = if report::quick() { 1.5 } else { 3.0 };
    let latency_queries = report::reps(4000, 1500);
    let pair = NetnsPair::new("p10dns");
    let _responder = responder(&pair);
    let conf = ResolvConf::new(&pair.a, "10.77.0.2");

    let (mut dq, mut pq, mut dl, mut pl) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut lost = (0, 0);
    for round in 0..rounds {
        // Direct: no fault.
        let (qps, l, _) = throughput(&pair, secs);
        dq.push(qps);
        lost.0 += l;
        dl.push(latency_p50(&pair, latency_queries));

        // Through the proxy: the fault applied, seen to take effect, then removed.
        let rec = pass_through(&pair);
        let fam = Family::of(&rec.kind);
        fam.apply(&rec).await.expect("apply the pass-through fault");
        let base = fam.baseline(&rec).await;
        let seen = fam.observe(&rec, &base).await;
        assert!(seen.effective, "{}", seen.evidence);
        let stats = faultline_agent::faults::dns::stats(&rec).expect("the proxy runs");
        let (qps, l, answered) = throughput(&pair, secs);
        let (through, _, _) = stats.read();
        // Counted conservatively: only as many answers as queries the proxy itself
        // received (a few flows were seen to bypass it, see the log line below).
        let bypassed = (answered - through as f64).max(0.0);
        pq.push(qps * (1.0 - bypassed / answered.max(1.0)));
        lost.1 += l;
        pl.push(latency_p50(&pair, latency_queries));
        let (queries, faulted, forwarded) = stats.read();
        assert_eq!(faulted, 0, "a pass-through query was faulted");
        assert!(
            queries - through >= latency_queries as u64,
            "{} queries reached the proxy for {latency_queries} asked one at a time",
            queries - through
        );
        eprintln!(
            "  proxy phase: {through} queries reached the proxy, ~{answered:.0} answered ({:.1}% not through the proxy, not counted)",
            100.0 * bypassed / answered.max(1.0)
        );
        assert_eq!(fam.recover(&rec).await.unwrap(), Recovered::Removed);
        let tables = sh(&format!("ip netns exec {} nft list tables", pair.a));
        assert!(!tables.contains("faultline_"), "left behind: {tables}");
        eprintln!(
            "round {round}: direct {:.0} q/s p50 {:.0} us | proxy {:.0} q/s p50 {:.0} us ({forwarded} forwarded)",
            dq[round], dl[round], pq[round], pl[round]
        );
    }
    drop(conf);

    println!(
        "P10 DNS resolver pass-through ({rounds} rounds, {CLIENTS} clients x {secs} s; p50 of {latency_queries} queries in a row)"
    );
    println!(
        "  direct:      {:>8.0} q/s   p50 {:>6.1} us   ({} lost)",
        median(&dq),
        median(&dl),
        lost.0
    );
    println!(
        "  agent proxy: {:>8.0} q/s   p50 {:>6.1} us   ({} lost)",
        median(&pq),
        median(&pl),
        lost.1
    );
    println!(
        "  proxy/direct throughput {:.0}%, added p50 {:.1} us",
        100.0 * median(&pq) / median(&dq),
        median(&pl) - median(&dl)
    );
    let label = format!("{CLIENTS} clients, one query in flight each, {secs} s");
    report::emit(
        "P10",
        "direct_qps",
        &format!("DNS direct to the upstream: queries/s ({label})"),
        "q/s",
        &dq,
    );
    report::emit(
        "P10",
        "proxy_qps",
        &format!("DNS through the agent's resolver, nothing matched: queries/s ({label})"),
        "q/s",
        &pq,
    );
    report::emit(
        "P10",
        "direct_p50",
        "DNS direct: p50 round trip, one query in flight",
        "us",
        &dl,
    );
    report::emit(
        "P10",
        "proxy_p50",
        "DNS through the agent's resolver: p50 round trip, one query in flight",
        "us",
        &pl,
    );
}
