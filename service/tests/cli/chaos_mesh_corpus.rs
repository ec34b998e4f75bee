//! The Chaos Mesh corpus (`tests/chaos-mesh/`): one manifest per example in Chaos Mesh's
//! documentation and in its repository's `examples/`, for every kind faultline imports,
//! and in `composed/` manifests of documented parts upstream shows no example of (DNSChaos
//! in a Workflow node and in a Schedule).
//! Each must validate, `validate --explain` must print a native experiment that itself
//! validates, and `run --dry-run` must plan it — except the files whose header says
//! `# refused: <field path>`, which must fail naming exactly that field. The counts are
//! printed, so the closing note's before/after figures come from this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run faultline")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every corpus file, relative to the repository root, sorted.
fn corpus() -> Vec<String> {
    let mut out = Vec::new();
    for dir in [
        "tests/chaos-mesh/docs",
        "tests/chaos-mesh/examples",
        "tests/chaos-mesh/composed",
    ] {
        for e in std::fs::read_dir(root().join(dir)).expect("corpus dir") {
            let p = e.expect("entry").path();
            if p.extension().and_then(|e| e.to_str()) == Some("yaml") {
                let name = p.file_name().and_then(|n| n.to_str()).expect("name");
                out.push(format!("{dir}/{name}"));
            }
        }
    }
    out.sort();
    out
}

/// The field a file's header says faultline refuses, if any.
fn refused_field(file: &str) -> Option<String> {
    let body = std::fs::read_to_string(root().join(file)).expect("read corpus file");
    body.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# refused: "))
        .map(|f| f.trim().to_string())
}

/// What is wrong with one accepted file, if anything.
fn accepted_problem(file: &str, scratch: &Path) -> Option<String> {
    let v = faultline(&["validate", file]);
    if v.status.code() != Some(0) {
        return Some(format!("validate: {}", text(&v.stderr)));
    }
    let x = faultline(&["validate", "--explain", file]);
    let native = text(&x.stdout);
    if x.status.code() != Some(0) || !native.contains("apiVersion: faultline.dev/v1alpha1") {
        return Some(format!("--explain: {}{}", native, text(&x.stderr)));
    }
    // The explanation is a native experiment a user may keep: it must validate as it is.
    let yaml: String = native
        .lines()
        .skip_while(|l| !l.starts_with("---") && !l.starts_with("apiVersion"))
        .map(|l| format!("{l}\n"))
        .collect();
    let copy = scratch.join("explained.yaml");
    std::fs::write(&copy, yaml).expect("write explanation");
    let again = faultline(&["validate", copy.to_str().expect("utf-8 path")]);
    if again.status.code() != Some(0) {
        return Some(format!(
            "--explain output does not validate: {}",
            text(&again.stderr)
        ));
    }
    let state = scratch.join("state");
    let d = faultline(&[
        "run",
        "--dry-run",
        "--state-dir",
        state.to_str().expect("utf-8 path"),
        file,
    ]);
    if d.status.code() != Some(0) || !text(&d.stdout).contains("dry run") {
        return Some(format!(
            "run --dry-run: {}{}",
            text(&d.stdout),
            text(&d.stderr)
        ));
    }
    None
}

#[test]
fn every_documented_chaos_mesh_example_validates_explains_and_plans() {
    let files = corpus();
    assert!(files.len() >= 50, "corpus has only {} files", files.len());
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    let (mut accepted, mut refused) = (0, Vec::new());
    for f in &files {
        match refused_field(f) {
            None => match accepted_problem(f, scratch.path()) {
                None => accepted += 1,
                Some(p) => problems.push(format!("{f}: {p}")),
            },
            Some(field) => {
                let out = faultline(&["validate", f]);
                let err = text(&out.stderr);
                if out.status.code() == Some(2) && err.contains(&format!(": {field}: ")) {
                    refused.push(format!("{f} ({field})"));
                } else {
                    problems.push(format!(
                        "{f}: should be refused naming {field}, got exit {:?}: {err}",
                        out.status.code()
                    ));
                }
            }
        }
    }
    println!(
        "Chaos Mesh corpus: {accepted} of {} accepted, {} refused deliberately:\n  {}",
        files.len(),
        refused.len(),
        refused.join("\n  ")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
