//! Chaos Mesh import: `chaos-mesh.org/v1alpha1` StressChaos, NetworkChaos, PodChaos, DNSChaos, HTTPChaos,
//! StatusCheck, Workflow and Schedule, each document translated to one native experiment.
//! Unknown fields are errors here too; fields faultline cannot carry out are refused by
//! name rather than ignored.

pub mod common;
pub mod dns;
pub mod fields;
pub mod http;
pub mod network;
pub mod pod;
pub mod schedule;
pub mod status_check;
pub mod stress;
mod stress_options;
pub mod task;
mod translate;
pub mod workflow;

pub use common::API_VERSION;
pub use translate::translate;
