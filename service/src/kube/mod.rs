//! Kubernetes targets and pod faults (DESIGN §3, §5): pods chosen by Chaos Mesh's selectors
//! and modes, podKill and podFailure through the API, the agent of each pod's node found
//! through the API, and a Lease so one replica leads.
//!
//! [`select`] is pure (selector and mode logic over listed pods); everything else talks to
//! the API server through a [`kube::Client`](::kube::Client) that [`client::connect`] builds
//! with a client-side rate limit. [`Cluster`] is the handle cluster mode wires into the
//! engine: it implements the application's cluster ports (`ports.rs`).

pub mod agents;
pub mod client;
pub mod cluster;
pub mod drain;
pub mod error;
pub mod lease;
mod node_ports;
pub mod nodes;
pub mod pod_failure;
pub mod pod_kill;
pub mod pod_read;
mod ports;
pub mod rate_limit;
pub mod resolve;
pub mod select;
pub mod task_pod;

pub use agents::AgentDirectory;
pub use client::{ClientOptions, connect};
pub use cluster::{Cluster, ClusterConfig, pod_target};
pub use error::KubeError;
pub use lease::{LeaderElector, LeaseConfig};
pub use nodes::{CORDON_ANNOTATION, NODE_FAULT_LABEL, NodeInjector, TAINT_ANNOTATION};
pub use pod_failure::{ORIGINAL_IMAGES_ANNOTATION, PodFailureInjector};
pub use rate_limit::RateLimitLayer;
pub use resolve::Resolver;
pub use task_pod::TaskPodRunner;
