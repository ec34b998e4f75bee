//! One crypto provider for the whole build: ring. `cargo tree -e normal` over the
//! workspace with every feature must not list aws-lc-rs (reqwest's and rustls's default),
//! aws-lc-sys, or OpenSSL (lettre's and reqwest's native-tls). The host platform only:
//! `--offline` cannot read the manifests of other platforms' crates, which a build never
//! downloads, and these crates would be pulled on every platform alike.

use std::path::Path;
use std::process::Command;

/// Crates that would mean a second TLS or crypto stack in the binaries.
const FORBIDDEN: &[&str] = &[
    "aws-lc-rs",
    "aws-lc-sys",
    "openssl-sys",
    "openssl",
    "native-tls",
];

#[test]
fn ring_is_the_only_crypto_provider_in_the_build() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(cargo)
        .current_dir(&root)
        .args([
            "tree",
            "--locked",
            "--offline",
            "--workspace",
            "--all-features",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo tree failed:\n{stderr}");
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"ring"), "ring is not in the build:\n{tree}");
    assert!(
        names.contains(&"rustls"),
        "rustls is not in the build:\n{tree}"
    );
    let found: Vec<&&str> = FORBIDDEN.iter().filter(|f| names.contains(f)).collect();
    assert!(
        found.is_empty(),
        "{found:?} in `cargo tree -e normal`: a dependency's feature pulls a second crypto/TLS stack back in; `cargo tree -e normal,features -i {}` shows which",
        found.first().map_or("", |f| **f)
    );
}
