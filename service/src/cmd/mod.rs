//! One file per subcommand; each returns the process exit code.

pub mod demo;
pub mod recover;
pub mod run;
pub mod serve;
pub mod trigger;
pub mod validate;
pub mod version;

/// Exit code of a subcommand whose issue has not landed yet.
pub const NOT_BUILT: u8 = 3;

/// Says a subcommand is not built yet and which issue will build it.
pub fn not_built(name: &str, issue: &str) -> u8 {
    eprintln!("faultline {name}: not built yet: {issue}");
    NOT_BUILT
}
