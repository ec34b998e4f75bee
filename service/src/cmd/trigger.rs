//! `faultline trigger`: not built yet; its issue replaces this file.

/// Runs `faultline trigger`.
pub fn run(_file: Option<&std::path::Path>) -> u8 {
    super::not_built("trigger", "the GitLab trigger issue")
}
