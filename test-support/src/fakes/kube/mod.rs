//! The Kubernetes API: objects in the JSON shapes the API server sends, and (feature
//! `kube`) kube's mock-service pattern, where a `kube::Client` talks to an
//! [`ApiServerVerifier`] that plays the API server call by call.

pub mod nodes;
pub mod objects;
#[cfg(feature = "kube")]
pub mod verifier;

pub use nodes::{NodeFx, eviction_accepted, eviction_blocked, node_list};
pub use objects::{PodFx, container_id, lease, pod_list};
#[cfg(feature = "kube")]
pub use verifier::{ApiServerVerifier, Exchange, Seen, done, pod_not_found, status, testcontext};
