//! `faultline run`: not built yet; its issue replaces this file.

/// Runs `faultline run`.
pub fn run(_file: Option<&std::path::Path>) -> u8 {
    super::not_built("run", "the run engine issue")
}
