//! Every fault kind of `FaultKind::ALL_NAMES` has what a kind owes its users (issue 25):
//! a worked example under `examples/` that uses it, a section in `docs/faults.md` that
//! links that example, and a bad-input case for each of its own fields (a case in
//! `errors.rs` or a pinned message in `messages.txt` naming `KIND.FIELD`; the traffic scope
//! fields the network kinds share have theirs under `networkDelay`). One table over all
//! kinds: a kind missing any of these fails here, with every gap listed.

use std::path::{Path, PathBuf};

use faultline_spec::fault::examples::{WORKED_EXAMPLES, worked_example};
use faultline_spec::fault::{FaultKind, KINDS};
use faultline_spec::load_file;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The section `## `kind`` of the fault page, up to the next heading.
fn section<'a>(page: &'a str, kind: &str) -> Option<&'a str> {
    let start = page.find(&format!("\n## `{kind}`\n"))? + 1;
    let rest = &page[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    Some(&rest[..end])
}

/// What `kind` lacks; empty when it has everything.
fn gaps(kind: &str, page: &str, cases: &str) -> Vec<String> {
    let mut out = Vec::new();
    let example = worked_example(kind);
    match example {
        None => out.push(format!(
            "{kind}: no worked example (add one under examples/ and name it in spec/src/fault/examples.rs)"
        )),
        Some(file) => match load_file(&root().join(file)) {
            Err(e) => out.push(format!("{kind}: its example {file} does not load: {e}")),
            Ok(exps) => {
                let uses = exps
                    .iter()
                    .any(|e| e.spec.fault_steps().iter().any(|f| f.fault.name() == kind));
                if !uses {
                    out.push(format!("{kind}: its example {file} has no `{kind}` step"));
                }
            }
        },
    }
    match section(page, kind) {
        None => out.push(format!("{kind}: no section in docs/faults.md")),
        Some(text) => {
            if let Some(file) = example
                && !text.contains(&format!("](../{file})"))
            {
                out.push(format!(
                    "{kind}: its docs/faults.md section does not link {file}"
                ));
            }
        }
    }
    match KINDS.iter().find(|k| k.name == kind) {
        None => out.push(format!("{kind}: not declared in spec/src/fault/kinds.rs")),
        Some(decl) => {
            for f in decl.fields {
                if !cases.contains(&format!("{kind}.{}", f.name)) {
                    out.push(format!(
                        "{kind}.{}: no bad-input case in spec/tests/errors.rs or messages.txt",
                        f.name
                    ));
                }
            }
        }
    }
    out
}

fn page_and_cases() -> (String, String) {
    let cases = read("spec/tests/errors.rs") + &read("spec/tests/messages.txt");
    (read("docs/faults.md"), cases)
}

#[test]
fn every_fault_kind_has_a_worked_example_a_docs_section_and_bad_input_per_field() {
    let (page, cases) = page_and_cases();
    let all: Vec<String> = FaultKind::ALL_NAMES
        .iter()
        .flat_map(|k| gaps(k, &page, &cases))
        .collect();
    assert!(all.is_empty(), "{} gap(s):\n{}", all.len(), all.join("\n"));
    // Every entry of the table names a kind (a renamed kind leaves no stale entry).
    for (kind, file) in WORKED_EXAMPLES {
        assert!(
            FaultKind::ALL_NAMES.contains(kind),
            "{kind} ({file}) is not a fault kind"
        );
    }
}

#[test]
fn a_kind_without_example_docs_or_declaration_is_reported() {
    let (page, cases) = page_and_cases();
    let found = gaps("madeUpKind", &page, &cases);
    assert_eq!(found.len(), 3, "{found:?}");
    // A section that does not link the example is a gap too.
    let page = page.replace(
        "](../examples/native/dns-faults.yaml)",
        "](../examples/native/elsewhere.yaml)",
    );
    let found = gaps("dnsDelay", &page, &cases);
    assert!(
        found.iter().any(|g| g.contains("does not link")),
        "{found:?}"
    );
}
