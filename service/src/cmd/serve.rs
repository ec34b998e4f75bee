//! `faultline serve`: not built yet; its issue replaces this file.

/// Runs `faultline serve`.
pub fn run() -> u8 {
    super::not_built("serve", "the service API issue")
}
