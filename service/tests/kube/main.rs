//! The Kubernetes layer: kube's mock service, the binary against a fake API server, and the
//! opt-in real-cluster tests.
//!
//! One test binary per area rather than one per file: each binary links the whole
//! `faultline` library and its dependencies, and linking dominated the tests' build.

#[path = "../support/mod.rs"]
mod support;

mod fake_api_server;
mod kube_agents;
mod kube_cluster;
mod kube_mock;
mod kube_serve;
