//! Whether a peer's program can run, and the skip message when it cannot.

use std::process::{Command, Stdio};

/// True when `program --version` runs; otherwise prints `SKIPPED: ...` with the reason
/// (not found, not executable) and `install`, the command that provides it.
pub fn installed(program: &str, install: &str) -> bool {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: `{program}` cannot run ({e}): {install}; ./test.sh does it");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_not_installed_and_sh_is() {
        assert!(!installed("fltest-no-such-program", "nothing to install"));
        assert!(installed("sh", "apt-get install dash"));
    }
}
