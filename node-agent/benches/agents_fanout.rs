//! P2: trigger -> all faults active, 100 network-namespace targets spread over 10 real
//! `faultline-agent` processes on loopback (10 targets each), driven the way the service's
//! remote injector drives node agents: one `POST /v1/faults` per agent carrying its
//! targets, all agents at once, with the bearer token. "Active" is the last agent's answer,
//! which comes after its journal write and its qdiscs are in the kernel; every round then
//! checks over netlink that all 100 tbf qdiscs are really there, recovers them and checks
//! that none is left. The fault is tbf (this kernel has no sch_netem).
//!
//! Not included: the run engine's own steps before injection (store writes, the `before`
//! steady-state checks); those are the experiment's, not the fan-out's.
//!
//! `cargo bench -p faultline-agent --bench agents_fanout` (root). Goal: p50 < 100 ms,
//! p99 < 250 ms.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use faultline_agent::FaultId;
use faultline_agent::netlink::Netlink;
use faultline_agent::protocol::ApplyRequest;
use faultline_spec::LocalTarget;
use faultline_test_support::NetnsTargets;
use faultline_test_support::bench::{percentile, report};
use futures::future::join_all;
use support::{AgentProc, bandwidth_on_va, has_tbf};

const AGENTS: usize = 10;
const PER_AGENT: usize = 10;
/// Measured rounds (10 under `--quick`), after one warm-up round.
const ROUNDS: usize = 40;

#[tokio::main]
async fn main() {
    bench().await;
}

async fn bench() {
    let targets = NetnsTargets::new("p2", AGENTS * PER_AGENT);
    let paths = targets.paths();
    let agents = join_all((0..AGENTS).map(|_| AgentProc::start_quiet("127.0.0.1"))).await;
    let clients: Vec<_> = agents.iter().map(AgentProc::client).collect();
    let links: Vec<Netlink> = paths
        .iter()
        .map(|p| Netlink::open(p).expect("netlink in target netns"))
        .collect();
    let kind = bandwidth_on_va();
    let rounds = report::reps(ROUNDS, 10);

    let mut took_ms = Vec::new();
    for round in 0..=rounds {
        let reqs: Vec<ApplyRequest> = (0..AGENTS)
            .map(|a| ApplyRequest {
                id: FaultId::new(format!("p2-r{round}-a{a}")).expect("id"),
                kind: kind.clone(),
                targets: paths[a * PER_AGENT..(a + 1) * PER_AGENT]
                    .iter()
                    .map(|p| LocalTarget::Netns(p.display().to_string()))
                    .collect(),
                lease_seconds: 60,
            })
            .collect();
        let t0 = Instant::now();
        let answers = join_all(clients.iter().zip(&reqs).map(|(c, r)| c.apply(r))).await;
        let took = t0.elapsed();
        for (a, r) in answers.into_iter().enumerate() {
            let r = r.unwrap_or_else(|e| panic!("agent {a} apply: {e}"));
            assert_eq!(
                r.records.len(),
                PER_AGENT,
                "agent {a}: one record per target"
            );
        }
        for (i, nl) in links.iter().enumerate() {
            assert!(
                has_tbf(nl).await,
                "round {round}: target {i} has no tbf qdisc"
            );
        }
        let recovered = join_all(clients.iter().zip(&reqs).map(|(c, r)| c.recover(&r.id))).await;
        for (a, r) in recovered.into_iter().enumerate() {
            r.unwrap_or_else(|e| panic!("agent {a} recover: {e}"));
        }
        for (i, nl) in links.iter().enumerate() {
            assert!(
                !has_tbf(nl).await,
                "round {round}: target {i} still has tbf"
            );
        }
        // Round 0 warms connections, page cache and the agents' allocators.
        if round > 0 {
            took_ms.push(took.as_secs_f64() * 1e3);
        }
    }
    drop(links);
    drop(agents);

    report::emit(
        "P2",
        "active",
        &format!(
            "trigger -> all faults active: {} netns targets over {AGENTS} agent processes",
            AGENTS * PER_AGENT
        ),
        "ms",
        &took_ms,
    );
    let mut sorted = took_ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "\ntrigger -> all faults active, {} targets over {AGENTS} agents, {rounds} rounds",
        AGENTS * PER_AGENT
    );
    println!("| min ms | p50 ms | p99 ms | max ms | goal |\n|---|---|---|---|---|");
    let (p50, p99) = (percentile(&sorted, 50.0), percentile(&sorted, 99.0));
    println!(
        "| {:.1} | {p50:.1} | {p99:.1} | {:.1} | p50 < 100 ms, p99 < 250 ms: {} |",
        sorted[0],
        sorted[sorted.len() - 1],
        if p50 < 100.0 && p99 < 250.0 {
            "met"
        } else {
            "missed"
        }
    );
}
