//! What every benchmark shares with `./bench.sh`: one JSON line per measure, appended to
//! the file named by `FAULTLINE_BENCH_JSON` (nothing is written when it is unset, so
//! `cargo bench` alone still just prints its own table), and the `--quick` switch
//! (`FAULTLINE_BENCH_QUICK=1`: fewer repeats, same measures).
//!
//! A line is `{"id":"P1","name":"netlink","label":"...","unit":"ms","samples":[...]}`;
//! the goals and ratios live in one place, `bench/table.py`, not in each bench.

use std::io::Write;

/// True under `./bench.sh --quick`.
pub fn quick() -> bool {
    std::env::var("FAULTLINE_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// `full` normally, `quick` under `--quick`.
pub fn reps(full: usize, quick_reps: usize) -> usize {
    if quick() { quick_reps } else { full }
}

/// Appends one measure: `samples` are the repeated runs' values in `unit`.
pub fn emit(id: &str, name: &str, label: &str, unit: &str, samples: &[f64]) {
    let Ok(path) = std::env::var("FAULTLINE_BENCH_JSON") else {
        return;
    };
    let line = serde_json::json!({
        "id": id,
        "name": name,
        "label": label,
        "unit": unit,
        "samples": samples,
    });
    // A bench whose figures cannot be recorded must fail loudly, not leave a hole.
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("FAULTLINE_BENCH_JSON={path}: {e}"));
    writeln!(f, "{line}").unwrap_or_else(|e| panic!("write {path}: {e}"));
}
