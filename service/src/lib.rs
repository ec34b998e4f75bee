//! The faultline service: the run engine and its store, Kubernetes targets and pod faults
//! (`kube`), steady-state probes, reports and the local demo; the binary (`main.rs`) adds
//! the CLI and HTTP front ends. Faults on a node are carried out by the node-agent library.
#![forbid(unsafe_code)]

pub mod api;
pub mod application;
pub mod config;
pub mod demo;
pub mod domain;
pub mod gitlab;
pub mod kube;
pub mod notify;
pub mod outputs;
pub mod store;
