//! The run engine in process: verdicts from HTTP and PromQL checks against real processes
//! and a real Prometheus.
//!
//! One test binary per area rather than one per file: each binary links the whole
//! `faultline` library and its dependencies, and linking dominated the tests' build.

mod fixture;
mod prometheus_probe;
mod run_disk;
mod run_engine;
mod run_prometheus;
mod run_repeat;
mod run_status_check;
mod run_until;
mod run_verify;
