//! Memory figures of a process, and how busy the machine is, from `/proc`; shared by both
//! crates' benches.

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

/// The machine's busy and total CPU time so far (the `cpu` line of `/proc/stat`, in
/// clock ticks): idle and iowait count as not busy.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Waits until the machine's CPUs are at most `busy` (0..1) busy over a quarter second,
/// or `patience` has passed; returns how long it waited. A load that leaves work behind
/// (runs it started and that go on after it) would otherwise slow the next measurement.
pub fn wait_quiet(busy: f64, patience: std::time::Duration) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let (b0, t0) = cpu_ticks();
        std::thread::sleep(std::time::Duration::from_millis(250));
        let (b1, t1) = cpu_ticks();
        let share = (b1 - b0) as f64 / (t1 - t0).max(1) as f64;
        if share <= busy || start.elapsed() >= patience {
            return start.elapsed();
        }
    }
}
