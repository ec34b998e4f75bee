//! P5 (service): resident memory of `faultline serve` started and left idle — the embedded
//! SQLite store created, the HTTP API listening on loopback with a tokens file, the
//! in-process agent open — read from /proc 1 s after `/healthz` first answers. Three runs,
//! each a fresh process and state dir (one under `./bench.sh --quick`). Goal: <= 25 MiB
//! (Chaos Mesh's controller: 17-37 MiB in the talk).
//!
//! `cargo bench -p faultline --bench idle_rss`

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline_test_support::Proc;
use faultline_test_support::bench::{measured_exe, mib, report, status_kib};

/// (VmRSS, RssAnon, RssFile) in KiB of one idle service.
fn one_service(exe: &std::path::Path) -> (u64, u64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "operator:bench-idle-token-0123456789\n").expect("tokens");
    // Port 0, read back: a port picked here could be taken before serve binds it.
    let mut service = Proc::spawn(
        Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--tokens-file")
            .arg(&tokens)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let port = service.wait_listening();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("http://127.0.0.1:{port}/healthz");
    let started = Instant::now();
    rt.block_on(async {
        let http = faultline_exporter::tls_provider::http_client()
            .build()
            .unwrap();
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "faultline serve did not answer {url}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    let pid = service.pid();
    (
        status_kib(pid, "VmRSS:"),
        status_kib(pid, "RssAnon:"),
        status_kib(pid, "RssFile:"),
    )
}

fn main() {
    let (exe, build) = measured_exe("faultline", env!("CARGO_BIN_EXE_faultline"));
    let runs: Vec<_> = (0..report::reps(3, 1)).map(|_| one_service(&exe)).collect();
    report::emit(
        "P5",
        "service",
        &format!("faultline serve idle RSS (SQLite store, API, in-process agent; {build})"),
        "MiB",
        &runs.iter().map(|r| mib(r.0)).collect::<Vec<_>>(),
    );
    println!(
        "faultline serve idle RSS (goal <= 25 MiB)\n| run | VmRSS | anonymous | file-backed |\n|---|---|---|---|"
    );
    for (i, (rss, anon, file)) in runs.iter().enumerate() {
        println!(
            "| {} | {:.2} MiB | {:.2} MiB | {:.2} MiB |",
            i + 1,
            mib(*rss),
            mib(*anon),
            mib(*file)
        );
    }
}
