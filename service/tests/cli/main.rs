//! The `faultline` binary as users and CI jobs run it: `trigger`, `validate`, `notify`, and
//! `run` and `serve` killed mid-run.
//!
//! One test binary per area rather than one per file: each binary links the whole
//! `faultline` library and its dependencies, and linking dominated the tests' build.

#[path = "../support/mod.rs"]
mod support;

mod chaos_mesh_corpus;
mod cli_trigger;
mod cli_validate;
mod crash_run;
mod crash_serve;
mod notify_cli;
mod run_dns;
mod run_http;
mod run_report;
mod run_until;
mod watchdog;
