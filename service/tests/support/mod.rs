//! What the service's tests share that needs the `faultline` or `faultline-agent` crates'
//! types — a faultline server on loopback, finished runs for the notifiers, a node agent
//! stand-in. Everything else (processes, ports, peers, the GitLab/Grafana/Slack/OTLP/
//! Kubernetes fakes, polling) is in the `faultline-test-support` crate.
#![allow(dead_code)] // each test binary uses a different part

pub mod fake_agent;
pub mod id_tokens;
pub mod notify;
mod server;

#[allow(unused_imports)] // each test binary uses a different part
pub use server::{
    ADMIN, OPERATOR, TestServer, VIEWER, admin_json, pause_yaml, viewer_json, wait_verdict,
};
