//! One file per subcommand; each returns the process exit code. `trigger_report` is
//! `trigger`'s reading of a run's report (verdict table, GitLab metrics report), apart so
//! the command's HTTP flow stays short. `watchdog` is `run`'s child that recovers a killed
//! run's faults.

pub mod cluster;
pub mod config;
pub mod demo;
pub mod halt;
pub mod recover;
pub mod run;
pub mod serve;
pub mod trigger;
pub mod trigger_report;
pub mod validate;
pub mod version;
pub mod watchdog;
