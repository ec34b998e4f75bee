//! Fidelity of the stress faults, measured from cgroup accounting (run as root):
//! 1 CPU worker at load 100 and at load 50 (cores consumed, cpuacct), and stressMemory
//! 64 MiB (memory.usage_in_bytes delta). Prints a table; `cargo bench --bench stress_fidelity`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use faultline_agent::cgroup::TestCgroup;
use faultline_agent::faults::{Fault, stress::Stress};
use faultline_agent::resolve::resolve;
use faultline_agent::spec::fault::{StressCpu, StressMemory};
use faultline_agent::spec::{Bytes, FaultKind, LocalTarget, Percent};
use support::*;

const MEASURE: Duration = Duration::from_secs(5);
const MIB: f64 = (1 << 20) as f64;

struct Row {
    case: &'static str,
    goal: (f64, f64),
    got: f64,
    unit: &'static str,
}

async fn cpu_case(cg: &TestCgroup, tag: &str, load: f64) -> f64 {
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let kind = FaultKind::StressCpu(StressCpu {
        workers: 1,
        load: Percent::new(load).unwrap(),
    });
    let rec = record(tag, kind, target.clone(), resolve(&target).unwrap());
    Stress.apply(&rec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = cores(cg, MEASURE).await;
    Stress.recover(&rec).await.unwrap();
    got
}

async fn memory_case(cg: &TestCgroup) -> f64 {
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let kind = FaultKind::StressMemory(StressMemory {
        workers: 1,
        size: Bytes(64 << 20),
    });
    let rec = record("bench-mem", kind, target.clone(), resolve(&target).unwrap());
    let before = memory(cg);
    Stress.apply(&rec).await.unwrap();
    // Settled: two readings 200 ms apart agree within 64 KiB.
    let mut last = memory(cg);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = memory(cg);
        if now > before + (32 << 20) && now.abs_diff(last) < 64 << 10 {
            break;
        }
        last = now;
    }
    let delta = memory(cg).saturating_sub(before) as f64 / MIB;
    Stress.recover(&rec).await.unwrap();
    delta
}

fn main() {
    use_agent_binary_for_workers();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cg = TestCgroup::create(&name("bench"), &["cpu", "cpuacct", "memory"], false).unwrap();
    let sleep = ChildGuard::sleep();
    cg.add(sleep.pid()).unwrap();
    let rows = rt.block_on(async {
        vec![
            Row {
                case: "stressCpu load 100, 1 worker",
                goal: (0.95, 1.05),
                got: cpu_case(&cg, "bench-100", 100.0).await,
                unit: "cores",
            },
            Row {
                case: "stressCpu load 50, 1 worker",
                goal: (0.45, 0.55),
                got: cpu_case(&cg, "bench-50", 50.0).await,
                unit: "cores",
            },
            Row {
                case: "stressMemory 64 MiB",
                goal: (64.0 * 0.95, 64.0 * 1.05),
                got: memory_case(&cg).await,
                unit: "MiB",
            },
        ]
    });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nstress fidelity (cgroup accounting, {}s windows; loadavg {})",
        MEASURE.as_secs(),
        load.trim()
    );
    println!("| case | goal | measured | |");
    println!("|---|---|---|---|");
    for r in rows {
        let ok = if (r.goal.0..=r.goal.1).contains(&r.got) {
            "ok"
        } else {
            "MISS"
        };
        println!(
            "| {} | {:.2}–{:.2} {} | {:.3} {} | {ok} |",
            r.case, r.goal.0, r.goal.1, r.unit, r.got, r.unit
        );
    }
}
