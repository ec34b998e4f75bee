//! P3: fault deadline -> fault removed. A real `faultline-agent` process gets 100 tbf
//! faults, one per network-namespace target, each with a 1 s lease that is never renewed
//! (as when the service dies or the network to it breaks). For each fault the lag is the
//! time from its journaled `leaseUntil` to the moment its qdisc is gone from the kernel,
//! as seen over netlink by polling only the faults that are due (every ~0.5 ms), so the
//! figure is an upper bound. The faults are applied one after the other, so their deadlines
//! are spread over the apply time as a run's would be.
//!
//! `cargo bench -p faultline-agent --bench lease_expiry` (root). Goal: p99 <= 50 ms.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use chrono::Utc;
use faultline_agent::FaultId;
use faultline_agent::netlink::Netlink;
use faultline_agent::protocol::ApplyRequest;
use faultline_spec::LocalTarget;
use faultline_test_support::NetnsTargets;
use faultline_test_support::bench::{percentile, report};
use support::{AgentProc, bandwidth_on_va, has_tbf};

const TARGETS: usize = 100;
/// Rounds of 100 faults (1 under `--quick`).
const ROUNDS: usize = 3;
/// The shortest lease the protocol allows.
const LEASE_SECONDS: u64 = 1;

#[tokio::main]
async fn main() {
    bench().await;
}

async fn bench() {
    let targets = NetnsTargets::new("p3", TARGETS);
    let paths = targets.paths();
    let agent = AgentProc::start_quiet("127.0.0.1").await;
    let client = agent.client();
    let links: Vec<Netlink> = paths
        .iter()
        .map(|p| Netlink::open(p).expect("netlink in target netns"))
        .collect();
    let kind = bandwidth_on_va();
    let rounds = report::reps(ROUNDS, 1);

    let mut lag_ms = Vec::new();
    for round in 0..rounds {
        // (target index, lease deadline) of each fault still in the kernel.
        let mut pending = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            let req = ApplyRequest {
                id: FaultId::new(format!("p3-r{round}-t{i}")).expect("id"),
                kind: kind.clone(),
                targets: vec![LocalTarget::Netns(p.display().to_string())],
                lease_seconds: LEASE_SECONDS,
            };
            let r = client
                .apply(&req)
                .await
                .unwrap_or_else(|e| panic!("apply to target {i}: {e}"));
            // Seen in the kernel right after the answer (a fault never applied would
            // look removed at once and flatter the figure).
            assert!(has_tbf(&links[i]).await, "target {i}: applied but no tbf");
            pending.push((i, r.records[0].lease_until));
        }
        let give_up = Utc::now() + chrono::Duration::seconds(LEASE_SECONDS as i64 + 10);
        while !pending.is_empty() {
            let now = Utc::now();
            assert!(
                now < give_up,
                "{} faults still in the kernel 10 s after their lease",
                pending.len()
            );
            let mut still = Vec::new();
            for (i, until) in pending {
                if until > now || has_tbf(&links[i]).await {
                    still.push((i, until));
                } else {
                    let seen = Utc::now();
                    lag_ms.push((seen - until).num_microseconds().unwrap_or(0) as f64 / 1e3);
                }
            }
            pending = still;
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        // The agent also forgot them: nothing is left in its journal.
        let left = client.list().await.expect("list faults").faults;
        assert!(left.is_empty(), "agent still lists {} faults", left.len());
    }
    drop(links);
    drop(agent);

    report::emit(
        "P3",
        "lag",
        &format!("lease deadline -> qdisc gone, {TARGETS} faults a round, one agent process"),
        "ms",
        &lag_ms,
    );
    let mut sorted = lag_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let p99 = percentile(&sorted, 99.0);
    println!(
        "\nlease deadline -> qdisc gone, {} faults ({rounds} rounds of {TARGETS})",
        sorted.len()
    );
    println!("| min ms | p50 ms | p99 ms | max ms | goal |\n|---|---|---|---|---|");
    println!(
        "| {:.2} | {:.2} | {p99:.2} | {:.2} | p99 <= 50 ms: {} |",
        sorted[0],
        percentile(&sorted, 50.0),
        sorted[sorted.len() - 1],
        if p99 <= 50.0 { "met" } else { "missed" }
    );
}
