//! Fidelity of the stress faults, measured from cgroup accounting (run as root):
//! 1 CPU worker at load 100 and at load 50 (cores consumed, cpuacct), and stressMemory
//! 64 MiB (memory.usage_in_bytes delta), each repeated 3 times (once, with 2 s windows,
//! under `./bench.sh --quick`). Prints a table; `cargo bench --bench stress_fidelity`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use faultline_agent::cgroup::TestCgroup;
use faultline_agent::faults::{Fault, stress::Stress};
use faultline_agent::resolve::resolve;
use faultline_spec::fault::{StressCpu, StressMemory};
use faultline_spec::{Bytes, LocalTarget, NodeFault, Percent};
use faultline_test_support::bench::report;
use faultline_test_support::{Proc, unique};
use support::{cores, memory, record, use_agent_binary_for_workers};

/// The CPU measuring window (2 s under `--quick`).
const MEASURE: Duration = Duration::from_secs(5);
/// Repeats of each case.
const REPS: usize = 3;
const MIB: f64 = (1 << 20) as f64;

struct Row {
    case: &'static str,
    name: &'static str,
    goal: (f64, f64),
    got: Vec<f64>,
    unit: &'static str,
}

async fn cpu_case(cg: &TestCgroup, tag: &str, load: f64, window: Duration) -> f64 {
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let kind = NodeFault::StressCpu(StressCpu {
        workers: 1,
        load: Percent::new(load).unwrap(),
        load_slice: None,
    });
    let rec = record(tag, kind, target.clone(), resolve(&target).unwrap());
    Stress.apply(&rec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = cores(cg, window).await;
    Stress.recover(&rec).await.unwrap();
    got
}

async fn memory_case(cg: &TestCgroup) -> f64 {
    let target = LocalTarget::Cgroup(cg.path.clone().into());
    let kind = NodeFault::StressMemory(StressMemory {
        workers: 1,
        size: Bytes(64 << 20),
        hang: None,
        oom_score_adj: None,
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
    let cg = TestCgroup::create(&unique("bench"), &["cpu", "cpuacct", "memory"], false).unwrap();
    let sleep = Proc::sleep();
    cg.add(sleep.pid()).unwrap();
    let (reps, window) = if report::quick() {
        (1, Duration::from_secs(2))
    } else {
        (REPS, MEASURE)
    };
    let mut rows = [
        Row {
            case: "stressCpu load 100, 1 worker",
            name: "cpu100",
            goal: (0.95, 1.05),
            got: Vec::new(),
            unit: "cores",
        },
        Row {
            case: "stressCpu load 50, 1 worker",
            name: "cpu50",
            goal: (0.45, 0.55),
            got: Vec::new(),
            unit: "cores",
        },
        Row {
            case: "stressMemory 64 MiB",
            name: "mem64",
            goal: (64.0 * 0.95, 64.0 * 1.05),
            got: Vec::new(),
            unit: "MiB",
        },
    ];
    rt.block_on(async {
        for i in 0..reps {
            rows[0]
                .got
                .push(cpu_case(&cg, &format!("bench-100-{i}"), 100.0, window).await);
            rows[1]
                .got
                .push(cpu_case(&cg, &format!("bench-50-{i}"), 50.0, window).await);
            rows[2].got.push(memory_case(&cg).await);
        }
    });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nstress fidelity (cgroup accounting, {}s windows; loadavg {})",
        window.as_secs(),
        load.trim()
    );
    println!("| case | goal | measured | |");
    println!("|---|---|---|---|");
    for r in &rows {
        report::emit("P4", r.name, r.case, r.unit, &r.got);
        let mut sorted = r.got.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let ok = if (r.goal.0..=r.goal.1).contains(&median) {
            "ok"
        } else {
            "MISS"
        };
        let all: Vec<String> = r.got.iter().map(|v| format!("{v:.3}")).collect();
        println!(
            "| {} | {:.2}–{:.2} {} | median {:.3} {} (runs: {}) | {ok} |",
            r.case,
            r.goal.0,
            r.goal.1,
            r.unit,
            median,
            r.unit,
            all.join(", ")
        );
    }
}
