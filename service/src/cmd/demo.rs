//! `faultline demo`: not built yet; its issue replaces this file.

/// Runs `faultline demo`.
pub fn run() -> u8 {
    super::not_built("demo", "the demo issue")
}
