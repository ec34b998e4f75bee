//! The HTTP API and its webhooks against a faultline server on loopback
//! (`support::TestServer`): routes, auth, fuzzed bodies, slow clients, schedules, serve
//! settings, GitLab and Alertmanager.
//!
//! One test binary per area rather than one per file: each binary links the whole
//! `faultline` library and its dependencies, and linking dominated the tests' build.

#[path = "../support/mod.rs"]
mod support;

mod alertmanager_abort;
mod api;
mod api_fuzz;
mod audit;
mod console;
mod governance_config;
mod id_tokens;
mod run_filters;
mod schedule_policy;
mod schedules;
mod serve_bin;
mod serve_config;
mod slow_clients;
mod sso;
mod sso_browser;
mod tokens_stay_secret;
mod until_aborted;
mod veto;
mod webhook_fuzz;
mod webhook_gitlab;
mod windows;
