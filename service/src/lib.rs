//! The faultline service: it runs chaos experiments — through node agents, the Kubernetes
//! API or the agent library in-process — judges them against steady-state SLOs, and
//! reports verdicts to GitLab, people and dashboards. Faults on a node are carried out by
//! the node-agent library; the experiment language is `faultline-spec`. The binary
//! (`main.rs`, `cli.rs`, `cmd/`) adds the command line.
//!
//! The crate is in layers, and imports point down only (`tests/architecture.rs` checks it):
//!
//! 1. [`domain`] — the run itself: its states, events, record and trigger. Imports nothing
//!    above it.
//! 2. [`application`] — what the service does with runs: start, abort and follow them,
//!    the catalog, schedules, dry runs, the engine that drives a run, and the *ports*
//!    (traits) through which it reaches the outside world.
//! 3. Adapters — one way to the outside world each, implementing ports; each imports the
//!    domain and the application, never another adapter.
//! 4. The composition root — [`demo`] and the binary — wires adapters into the
//!    application and may import anything.
#![forbid(unsafe_code)]

// 1. Domain.
pub mod domain;

// 2. Application.
pub mod application;

// 3. Adapters.
pub mod api;
pub mod config;
pub mod gitlab;
pub mod kube;
pub mod notify;
pub mod outputs;
pub mod store;

// 4. Composition root.
pub mod demo;
