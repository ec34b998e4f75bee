//! Build script of the two shipped binaries (`faultline`, `faultline-agent`): links them
//! with packed relative relocations (`DT_RELR`, `-z pack-relative-relocs`).
//!
//! Why: a position-independent Rust binary carries one 24-byte `.rela.dyn` entry per
//! pointer in its read-only data (about 2 MB for `faultline`, 0.9 MB for the agent), and
//! the dynamic loader reads all of them at every start, so they sit in the process's RSS
//! for its whole life. RELR encodes the same relocations in a few KB; ASLR is unchanged.
//! It changes nothing on the hot path, but it is most of what separated the agent's idle
//! RSS from the 8 MiB goal (issue 10, P5).
//!
//! GNU ld >= 2.38 packs them only when the glibc it links against provides
//! `GLIBC_ABI_DT_RELR` (>= 2.36), and links as before otherwise, so a build on an older
//! distribution still runs there. Only `[[bin]]` targets get the flag: tests, benches
//! and dependencies link as they always did.
fn main() {
    println!("cargo:rerun-if-changed=../build-support/pack_relocs.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
