//! Build script of the two shipped binaries (`faultline`, `faultline-agent`): two linker
//! settings that keep their memory small. Only `[[bin]]` targets get them: tests, benches
//! and dependencies link as they always did. (The file keeps its first name, after the
//! first setting: cargo hashes a build script's path into its package's symbol names, so a
//! rename would make the order file below stale.)
//!
//! 1. Packed relative relocations (`DT_RELR`, `-z pack-relative-relocs`). A
//!    position-independent Rust binary carries one 24-byte `.rela.dyn` entry per pointer in
//!    its read-only data (about 2 MB for `faultline`, 0.9 MB for the agent), and the dynamic
//!    loader reads all of them at every start, so they sit in the process's RSS for its
//!    whole life. RELR encodes the same relocations in a few KB; ASLR is unchanged. It was
//!    most of what separated the agent's idle RSS from the 8 MiB goal (issue 10, P5). GNU
//!    ld >= 2.38 and lld pack them only when the glibc linked against provides
//!    `GLIBC_ABI_DT_RELR` (>= 2.36), and link as before otherwise.
//!
//! 2. A function order (`--symbol-ordering-file`), when `build-support/order/<package>.txt`
//!    exists (`build-support/order/profile.sh` writes it). The kernel maps code 64 KB
//!    around each page a process faults in, so functions a run executes, scattered over
//!    13 MB of code, kept 9.5 MiB of `faultline run` resident; laid out side by side, about
//!    3 MiB. A name the file holds that the binary lacks is skipped without a warning: a
//!    stale file costs the saving, never the build. Only on x86_64, where rustc links with
//!    its own lld by default (GNU ld has no such flag) and where the file was profiled, and
//!    only in optimized builds (`PROFILE=release`, which bench builds are too): the file
//!    names optimized functions, so a debug link would read its 1 MB for nothing.
//!    `FAULTLINE_NO_ORDER_FILE=1` leaves it out (for a build that links with GNU ld).
fn main() {
    println!("cargo:rerun-if-changed=../build-support/pack_relocs.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || env != "gnu" {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    let order = format!(
        "{}/../build-support/order/{}.txt",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default(),
        std::env::var("CARGO_PKG_NAME").unwrap_or_default()
    );
    // A file that does not exist would make cargo rerun this script, and so rebuild the
    // package and everything above it, at every build (the agent has no order file): watch
    // the directory instead, which notices the file appearing.
    if std::path::Path::new(&order).exists() {
        println!("cargo:rerun-if-changed={order}");
    } else {
        println!("cargo:rerun-if-changed=../build-support/order");
    }
    println!("cargo:rerun-if-env-changed=FAULTLINE_NO_ORDER_FILE");
    let x86_64 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "x86_64");
    let opted_out = std::env::var_os("FAULTLINE_NO_ORDER_FILE").is_some_and(|v| v == "1");
    let optimized = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if x86_64 && optimized && !opted_out && std::path::Path::new(&order).exists() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
