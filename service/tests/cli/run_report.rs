//! What the `faultline run` tests with a real fault check the same way: the run's output
//! as text, no nft table left behind, the one report it wrote, and that report's one
//! fault, verified.

use std::path::{Path, PathBuf};
use std::process::Output;

use faultline_test_support::sh;
use serde_json::Value;

/// The command's stdout then its stderr, as text.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// No nft table of faultline's is left in the network namespace `netns`.
pub fn assert_no_tables_left(netns: &str) {
    let tables = sh(&format!("ip netns exec {netns} nft list tables"));
    assert!(!tables.contains("faultline_"), "left behind: {tables}");
}

/// The directory of the run's report under the state directory `state`, and its
/// `report.json`.
pub fn the_report(state: &Path) -> (PathBuf, Value) {
    let reports = state.join("reports");
    let run_dir = std::fs::read_dir(&reports)
        .unwrap()
        .flatten()
        .next()
        .expect("a report directory")
        .path();
    let report: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
    (run_dir, report)
}

/// The report holds one fault, of `kind`, verified, with evidence that says each of
/// `evidence`.
pub fn assert_one_fault_verified(report: &Value, kind: &str, evidence: &[&str]) {
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 1, "{report:#}");
    assert_eq!(faults[0]["kind"], kind);
    assert_eq!(faults[0]["state"], "verified", "{:#}", faults[0]);
    let verified = &report["verifications"][0];
    assert_eq!(verified["verified"], true, "{report:#}");
    let said = verified["evidence"].as_str().unwrap();
    assert!(evidence.iter().all(|e| said.contains(e)), "{said}");
}
