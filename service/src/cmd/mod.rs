//! One file per subcommand; each returns the process exit code.

pub mod cluster;
pub mod demo;
pub mod recover;
pub mod run;
pub mod serve;
pub mod trigger;
pub mod validate;
pub mod version;
