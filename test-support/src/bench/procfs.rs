//! Memory figures of a process from `/proc`, shared by both crates' RSS benches.

/// A `kB` field (`VmRSS:`, `Pss:`) of `/proc/PID/FILE`, 0 when the process is gone.
fn kib(pid: u32, file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`, `RssAnon:`), 0 when gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    kib(pid, "status", field)
}

/// A `kB` field of `/proc/PID/smaps_rollup` (`Pss:`), 0 when gone.
pub fn rollup_kib(pid: u32, field: &str) -> u64 {
    kib(pid, "smaps_rollup", field)
}

/// The binary a memory row measures, and which build it is: the shipped one
/// (`build-support/dist.sh`: static-pie, fat LTO, the function order), which bench.sh builds
/// and names in `FAULTLINE_BENCH_DIST`; else `bench_build`, this bench build's own
/// (`env!("CARGO_BIN_EXE_...")`: dynamically linked, thin LTO, tokio's test-util on, so its
/// memory is not what users run), said on stderr.
pub fn measured_exe(name: &str, bench_build: &str) -> (std::path::PathBuf, &'static str) {
    if let Some(dir) = std::env::var_os("FAULTLINE_BENCH_DIST") {
        let exe = std::path::Path::new(&dir).join(name);
        assert!(
            exe.is_file(),
            "FAULTLINE_BENCH_DIST has no {}",
            exe.display()
        );
        return (exe, "shipped build");
    }
    eprintln!(
        "{name}: measuring the bench build ({bench_build}); bench.sh measures the shipped one \
         (build-support/dist.sh, FAULTLINE_BENCH_DIST=target/dist)"
    );
    (bench_build.into(), "bench build")
}
