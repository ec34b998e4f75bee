//! Agent idle RSS after 1,000 apply/recover cycles of a cheap fault (processPause on a
//! `sleep`), measured on the real `faultline-agent` binary. Goal: <= 8 MiB.
//!
//! Three runs, each with a fresh agent (one under `./bench.sh --quick`).
//!
//! Run: `cargo bench -p faultline-agent --bench agent_rss` (as root).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline_agent::protocol::ApplyRequest;
use faultline_agent::{AgentClient, FaultId};
use faultline_spec::LocalTarget;
use faultline_test_support::Proc;
use faultline_test_support::bench::{measured_exe, report, status_kib};

const CYCLES: usize = 1000;

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.2} MiB", kib as f64 / 1024.0)
}

/// One agent's figures, KiB.
#[derive(Clone, Copy)]
struct Figures {
    rss_start: u64,
    rss_idle: u64,
    hwm: u64,
    anon: u64,
    file: u64,
    threads: usize,
    cycles_took: Duration,
}

fn main() -> anyhow::Result<()> {
    let (exe, build) = measured_exe("faultline-agent", env!("CARGO_BIN_EXE_faultline-agent"));
    let runs = (0..report::reps(3, 1))
        .map(|_| one_agent(&exe))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let kib_to_mib = |k: u64| k as f64 / 1024.0;
    report::emit(
        "P5",
        "agent",
        &format!("faultline-agent idle RSS after {CYCLES} apply/recover cycles ({build})"),
        "MiB",
        &runs
            .iter()
            .map(|f| kib_to_mib(f.rss_idle))
            .collect::<Vec<_>>(),
    );
    report::emit(
        "P5",
        "agent_start",
        "faultline-agent idle RSS at start",
        "MiB",
        &runs
            .iter()
            .map(|f| kib_to_mib(f.rss_start))
            .collect::<Vec<_>>(),
    );
    let f = runs.iter().max_by_key(|f| f.rss_idle).expect("one run");
    let Figures {
        rss_start,
        rss_idle,
        hwm,
        anon,
        file,
        threads,
        cycles_took,
    } = *f;
    println!(
        "agent RSS, {CYCLES} apply/recover cycles of processPause (goal: idle <= 8 MiB); worst of {} runs",
        runs.len()
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| RSS at start (idle) | {} |", mib(rss_start));
    println!("| RSS idle after {CYCLES} cycles | {} |", mib(rss_idle));
    println!("|   of which anonymous | {} |", mib(anon));
    println!("|   of which file-backed (binary, libc) | {} |", mib(file));
    println!("| peak RSS (VmHWM) | {} |", mib(hwm));
    println!("| threads | {threads} |");
    println!(
        "| {CYCLES} cycles took | {:.2?} ({:.2} ms per apply+recover over HTTP) |",
        cycles_took,
        cycles_took.as_secs_f64() * 1e3 / CYCLES as f64
    );
    println!(
        "| goal met | {} |",
        if rss_idle <= 8 * 1024 { "yes" } else { "no" }
    );
    Ok(())
}

fn one_agent(exe: &std::path::Path) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    // Port 0, read back: a port picked here could be taken before the agent binds it.
    let mut agent = Proc::spawn(
        Command::new(exe)
            .args(["--listen", "127.0.0.1:0", "--insecure-no-auth"])
            .arg("--state-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null()),
    );
    let port = agent.wait_listening();
    let sleeper = Proc::sleep();
    let apid = agent.pid();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = AgentClient::new(format!("http://127.0.0.1:{port}"), None)?;
    let started = Instant::now();
    rt.block_on(async {
        while client.health().await.is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(20),
                "agent did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    })?;
    std::thread::sleep(Duration::from_millis(200));
    let rss_start = status_kib(apid, "VmRSS:");

    let t0 = Instant::now();
    rt.block_on(async {
        for i in 0..CYCLES {
            let id = FaultId::new(format!("bench{i}")).map_err(anyhow::Error::msg)?;
            let req = ApplyRequest {
                id: id.clone(),
                kind: serde_json::from_str(r#"{"processPause":{}}"#)?,
                targets: vec![LocalTarget::Pid(sleeper.0.id())],
                lease_seconds: 60,
            };
            client.apply(&req).await?;
            client.recover(&id).await?;
        }
        anyhow::Ok(())
    })?;
    let cycles_took = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = status_kib(apid, "VmRSS:");
    let hwm = status_kib(apid, "VmHWM:");
    let anon = status_kib(apid, "RssAnon:");
    let file = status_kib(apid, "RssFile:");

    Ok(Figures {
        rss_start,
        rss_idle,
        hwm,
        anon,
        file,
        threads: threads(apid),
        cycles_took,
    })
}
