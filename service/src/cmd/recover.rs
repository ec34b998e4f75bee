//! `faultline recover`: not built yet; its issue replaces this file.

/// Runs `faultline recover`.
pub fn run() -> u8 {
    super::not_built("recover", "the journal recovery issue")
}
