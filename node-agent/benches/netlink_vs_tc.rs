//! Apply + recover a tbf fault on N veth targets, each in its own network namespace:
//! faultline's netlink executor vs exec'ing `tc` per target (how Chaos Mesh and Litmus do
//! it), same work, side by side in one run. Prints a table; run as root:
//! `cargo bench -p faultline-agent --bench netlink_vs_tc` (N via FLTEST_BENCH_N, default 100).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use faultline_agent::faults::{Family, Fault};
use faultline_spec::fault::NetworkBandwidth;
use faultline_spec::{BitRate, Bytes, NetworkScope, NodeFault};
use faultline_test_support::bench::report;
use faultline_test_support::{NetnsTargets, sh};
use support::netns_record;

/// Rounds of each method (3 under `./bench.sh --quick`).
const REPS: usize = 5;

fn tc(args: &[&str]) {
    let out = Command::new("tc").args(args).output().expect("run tc");
    assert!(
        out.status.success(),
        "tc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the tc-exec approach runs per target: replace, then delete.
fn run_tc(names: &[String]) -> Duration {
    let start = Instant::now();
    for ns in names {
        tc(&[
            "-n", ns, "qdisc", "replace", "dev", "va", "root", "handle", "fa17:", "tbf", "rate",
            "10mbit", "burst", "16kb", "limit", "64kb",
        ]);
    }
    for ns in names {
        tc(&[
            "-n", ns, "qdisc", "del", "dev", "va", "root", "handle", "fa17:",
        ]);
    }
    start.elapsed()
}

/// The product path: the bandwidth executor's apply and recover per target.
async fn run_netlink(paths: &[PathBuf], fam: &Family, kind: &NodeFault) -> Duration {
    let recs: Vec<_> = paths
        .iter()
        .map(|p| netns_record("bench", kind.clone(), p))
        .collect();
    let start = Instant::now();
    for rec in &recs {
        fam.apply(rec).await.expect("apply");
    }
    for rec in &recs {
        fam.recover(rec).await.expect("recover");
    }
    start.elapsed()
}

fn assert_clean(names: &[String]) {
    for ns in names {
        let q = sh(&format!("tc -n {ns} qdisc show dev va"));
        assert!(!q.contains("fa17:"), "{ns} still has our qdisc: {q}");
    }
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: both run it.
    let n: usize = std::env::var("FLTEST_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let targets = NetnsTargets::new("bench", n);
    let paths = targets.paths();
    let kind = NodeFault::NetworkBandwidth(NetworkBandwidth {
        rate: "10mbit".parse::<BitRate>().unwrap(),
        limit: Bytes(64 * 1024),
        buffer: Bytes(16 * 1024),
        peakrate: None,
        minburst: None,
        // The interface `tc` is told to shape: both sides then do the same work, one
        // replace and one delete per target (the default, every interface, would also shape
        // `vb` on our side only).
        scope: NetworkScope {
            device: Some("va".into()),
            ..NetworkScope::default()
        },
    });
    let fam = Family::of(&kind);
    // The runtime the agent's executors run on (`agent/core.rs`: one current-thread runtime
    // on the agent thread). On a multi-thread runtime every netlink reply would wake the
    // caller across threads, which about doubled the time measured here.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // One warm-up round each (page cache for `tc`, module checks for us).
    run_tc(&targets.names);
    rt.block_on(run_netlink(&paths, &fam, &kind));
    assert_clean(&targets.names);

    let reps = report::reps(REPS, 3);
    let (mut t_tc, mut t_nl) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        t_tc.push(run_tc(&targets.names));
        assert_clean(&targets.names);
        t_nl.push(rt.block_on(run_netlink(&paths, &fam, &kind)));
        assert_clean(&targets.names);
    }
    let as_ms = |v: &[Duration]| v.iter().map(|d| ms(*d)).collect::<Vec<_>>();
    report::emit(
        "P1",
        "netlink",
        &format!("faultline netlink executor: apply+recover tbf on {n} netns targets"),
        "ms",
        &as_ms(&t_nl),
    );
    report::emit(
        "P1",
        "tc",
        &format!("exec `tc` per target (Chaos Mesh / Litmus way), same {n} targets"),
        "ms",
        &as_ms(&t_tc),
    );
    let (tmin, tmed, tmax) = stats(t_tc);
    let (nmin, nmed, nmax) = stats(t_nl);
    println!("\napply + recover a tbf fault on {n} veth targets (one netns each), {reps} runs");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12}",
        "method", "min ms", "median ms", "max ms", "per target"
    );
    println!(
        "{:<34} {:>10.1} {:>10.1} {:>10.1} {:>9.0} us",
        "exec tc (Chaos Mesh / Litmus way)",
        ms(tmin),
        ms(tmed),
        ms(tmax),
        ms(tmed) * 1e3 / n as f64
    );
    println!(
        "{:<34} {:>10.1} {:>10.1} {:>10.1} {:>9.0} us",
        "faultline netlink executor",
        ms(nmin),
        ms(nmed),
        ms(nmax),
        ms(nmed) * 1e3 / n as f64
    );
    println!(
        "speed-up (median tc / median netlink): {:.1}x (goal >= 10x)",
        ms(tmed) / ms(nmed)
    );
}
