//! Grafana annotations: the HTTP client, the persisted queue and the background sender
//! that survives an unreachable Grafana and restarts.

pub mod client;
pub mod pending;
pub mod queue;
pub mod sender;

pub use client::{AnnotationPatch, GrafanaClient, GrafanaConfig, GrafanaError, NewAnnotation};
pub use pending::Pending;
pub use queue::{Op, Queue, QueueError};
pub use sender::{Annotations, SenderConfig, SenderError};
