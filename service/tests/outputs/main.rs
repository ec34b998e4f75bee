//! What a run tells the world: notifications (SMTP, Slack, webhooks), Grafana annotations
//! and dashboards, OTLP traces.
//!
//! One test binary per area rather than one per file: each binary links the whole
//! `faultline` library and its dependencies, and linking dominated the tests' build.

#[path = "../support/mod.rs"]
mod support;

mod dashboards;
mod grafana_annotations;
mod notify_email;
mod notify_http;
mod otel_traces;
