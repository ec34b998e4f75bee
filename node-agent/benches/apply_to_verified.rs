//! P11: time from "apply" to "verified", per fault kind, for the kinds this machine's
//! kernel can carry out (no sch_netem here: the netem kinds are the kernel tier's; pod and
//! node kinds go through Kubernetes). Each sample applies one fault through its executor
//! and then reads it back the way the engine's verify does (`runner/lifecycle.rs`): at
//! once, then every 250 ms until `observe` says effective; the time from the apply call to
//! that read-back. Each fault is then recovered, and the bench checks it is gone.
//! Run as root: `cargo bench -p faultline-agent --bench apply_to_verified`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use faultline_agent::Recovered;
use faultline_agent::cgroup::TestCgroup;
use faultline_agent::faults::{Family, Fault, FaultRecord};
use faultline_agent::resolve::resolve;
use faultline_spec::{LocalTarget, NodeFault};
use faultline_test_support::bench::report;
use faultline_test_support::{LoopDev, MountedIn, NetnsPair, Proc, sh, unique};
use support::{bandwidth_on_va, netns_record, record, use_agent_binary_for_workers};

/// The engine's verify cadence (`VERIFY_EVERY` in the service's `runner/lifecycle.rs`).
const VERIFY_EVERY: Duration = Duration::from_millis(250);
/// A fault not seen by then is a failed sample (the engine's default `verify.within`).
const WITHIN: Duration = Duration::from_secs(5);

fn kind(json: &str) -> NodeFault {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Prepare, apply and settle (what the agent does for a request, less its journal
/// write: settle waits until a pause shows as stopped, a SIGKILLed process as gone, a
/// freeze as frozen), then observe at once
/// and every [`VERIFY_EVERY`] until effective: the time from the start to the effective
/// read-back. Recovers before returning.
async fn one(mut rec: FaultRecord) -> Duration {
    let fam = Family::of(&rec.kind);
    let start = Instant::now();
    rec.prior = fam.prepare(&rec).await.expect("prepare");
    let rec = &rec;
    fam.apply(rec).await.expect("apply");
    fam.settle(std::slice::from_ref(rec))
        .await
        .map_err(|(_, e)| e)
        .expect("settle");
    let base = fam.baseline(rec).await;
    let took = loop {
        let seen = fam.observe(rec, &base).await;
        if seen.effective {
            break start.elapsed();
        }
        assert!(
            start.elapsed() < WITHIN,
            "{} not seen within {WITHIN:?}: {}",
            rec.kind.name(),
            seen.evidence
        );
        tokio::time::sleep(VERIFY_EVERY).await;
    };
    let gone = fam.recover(rec).await.expect("recover");
    assert!(
        matches!(
            gone,
            Recovered::Removed | Recovered::AlreadyGone | Recovered::TargetGone(_)
        ),
        "{}: {gone:?}",
        rec.kind.name()
    );
    took
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile `q` of `v` (as bench/table.py computes it).
fn pct(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

fn emit(name: &str, what: &str, samples: &[f64]) {
    println!(
        "  {name:<18} p50 {:>7.1} ms   p99 {:>7.1} ms   ({} samples)   {what}",
        pct(samples, 50.0),
        pct(samples, 99.0),
        samples.len()
    );
    report::emit(
        "P11",
        name,
        &format!("{name}: apply -> verified ({what})"),
        "ms",
        samples,
    );
}

fn no_tables(pair: &NetnsPair) {
    let t = sh(&format!("ip netns exec {} nft list tables", pair.a));
    assert!(!t.contains("faultline_"), "left behind: {t}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    use_agent_binary_for_workers();
    let n = report::reps(30, 10);
    println!("P11 apply -> verified, engine cadence (read back at once, then every 250 ms)");

    // Network namespace kinds: nft tables (DNS, partition) and a tbf qdisc.
    let pair = NetnsPair::new("p11");
    let conf = std::path::PathBuf::from(format!("/etc/netns/{}", pair.a));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("resolv.conf"), "nameserver 10.77.0.2\n").unwrap();
    let netns: [(&str, &str, NodeFault); 5] = [
        (
            "dnsError",
            "nft redirect + resolver in the netns",
            kind(r#"{"dnsError":{"patterns":["*.p11.test"]}}"#),
        ),
        (
            "dnsDelay",
            "nft redirect + resolver in the netns",
            kind(r#"{"dnsDelay":{"patterns":["*.p11.test"],"latency":"100ms"}}"#),
        ),
        (
            "dnsSpoof",
            "nft redirect + resolver in the netns",
            kind(r#"{"dnsSpoof":{"patterns":["*.p11.test"],"addresses":["192.0.2.1"]}}"#),
        ),
        (
            "networkPartition",
            "nft drop rules in the netns",
            kind(r#"{"networkPartition":{"peers":["10.77.0.2/32"]}}"#),
        ),
        (
            "networkBandwidth",
            "tbf on a veth over netlink",
            bandwidth_on_va(),
        ),
    ];
    for (name, what, k) in netns {
        let mut s = Vec::new();
        for _ in 0..n {
            s.push(ms(one(netns_record("p11", k.clone(), &pair.a_path())).await));
        }
        no_tables(&pair);
        emit(name, what, &s);
    }
    let _ = std::fs::remove_dir_all(&conf);

    // Process kinds, a fresh sleeper per sample.
    for (name, what, json) in [
        (
            "processPause",
            "SIGSTOP, state T read back",
            r#"{"processPause":{}}"#,
        ),
        (
            "processKill",
            "SIGKILL, process gone",
            r#"{"processKill":{}}"#,
        ),
    ] {
        let mut s = Vec::new();
        for _ in 0..n {
            let p = Proc::sleep();
            let target = LocalTarget::Pid(p.pid());
            let rec = record("p11", kind(json), target.clone(), resolve(&target).unwrap());
            s.push(ms(one(rec).await));
            if name == "processPause" {
                assert!(p.reaches('S'), "the pause outlived its recovery");
            }
        }
        emit(name, what, &s);
    }

    // CPU stress: the cgroup's CPU time has to rise, so its verification waits for the
    // workers to run (at least one read-back interval).
    let cg = TestCgroup::create(&unique("p11cpu"), &["cpu", "cpuacct"], true)
        .expect("a cpu test cgroup (needs root)");
    let sleeper = Proc::sleep();
    cg.add(sleeper.pid()).unwrap();
    let target = LocalTarget::Pid(sleeper.pid());
    let mut s = Vec::new();
    for _ in 0..n {
        let k = kind(r#"{"stressCpu":{"workers":1,"load":50}}"#);
        let rec = record("p11cpu", k, target.clone(), resolve(&target).unwrap());
        let id = rec.id.clone();
        s.push(ms(one(rec).await));
        assert!(
            support::marked(&id).iter().all(|p| !is_alive_pid(*p)),
            "a stress worker outlived its recovery"
        );
    }
    emit("stressCpu", "1 worker at 50%, cgroup CPU time rising", &s);

    // diskFill on a loop-mounted ext4 seen only in the target's mount namespace.
    let dev = LoopDev::new(64, Some("ext4"));
    let mounted = MountedIn::new(&dev);
    let target = LocalTarget::Pid(mounted.proc.pid());
    let json = format!(
        r#"{{"diskFill":{{"path":"{}","fill":50}}}}"#,
        mounted.mnt.display()
    );
    let mut s = Vec::new();
    for _ in 0..n {
        let rec = record(
            "p11disk",
            kind(&json),
            target.clone(),
            resolve(&target).unwrap(),
        );
        s.push(ms(one(rec).await));
    }
    assert_eq!(
        leftover_fills(&mounted.inside(&mounted.mnt)),
        0,
        "a fill file outlived recovery"
    );
    emit("diskFill", "fallocate to 50% of a 64 MiB ext4, statvfs", &s);
}

fn is_alive_pid(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        !stat.contains(") Z ")
    }
}

fn leftover_fills(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".faultline-fill-")
                })
                .count()
        })
        .unwrap_or(0)
}
