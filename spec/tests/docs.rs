//! `docs/faults.md` is written from the fault declarations; this fails when the committed
//! page differs from what they say now (and regenerates it with FAULTLINE_BLESS=1).

use std::path::PathBuf;

use faultline_spec::fault::docs::{REGENERATE, markdown};

#[test]
fn the_fault_reference_matches_the_declarations() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/faults.md");
    let now = markdown();
    if std::env::var_os("FAULTLINE_BLESS").is_some() {
        std::fs::write(&file, &now).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    if committed != now {
        let line = committed
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(now.lines().count()));
        panic!(
            "docs/faults.md differs from spec/src/fault/kinds.rs from line {}:\n  committed: {}\n  declared:  {}\nregenerate it with:\n  {REGENERATE}",
            line + 1,
            committed.lines().nth(line).unwrap_or("<end>"),
            now.lines().nth(line).unwrap_or("<end>"),
        );
    }
}
