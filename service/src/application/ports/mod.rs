//! The ports: what the application needs from the outside world, as small traits the
//! adapters implement (each by one adapter type, and a fake in tests where one helps).

pub mod annotation_queue;
pub mod audit_log;
pub mod catalog_store;
pub mod cluster;
pub mod deliveries;
pub mod leases;
pub mod logins;
pub mod node_faults;
pub mod notifications;
pub mod observe;
pub mod outbox;
pub mod pod_read;
pub mod preflight;
pub mod previews;
pub mod remote_abort;
pub mod run_store;
pub mod sessions;
pub mod spent_tokens;
pub mod store;
pub mod store_error;
pub mod task_pods;

pub use annotation_queue::{AnnotationQueue, ClaimedAnnotation};
pub use audit_log::{AuditLog, AuditQuery, AuditShipper};
pub use catalog_store::{CatalogStore, ExperimentRow, Halt, HaltStore};
pub use cluster::{
    ClusterError, DiscoveredAgent, Killed, NodeAgent, NodeAgents, OriginalImages, PodCluster,
    PodFailures, PodTarget, Restored, Selection,
};
pub use deliveries::{Delivery, DeliveryLog, PRUNE_AT_MOST};
pub use leases::RunLeases;
pub use logins::{LoginStore, MAX_PENDING_LOGINS};
pub use node_faults::{
    Eviction, EvictionOutcome, NodeChange, NodeFaultError, NodeFaults, NodeMark, NodeRestored,
    NodeSelection, NodeState, NodeTarget, Taint, ZoneNodes,
};
pub use notifications::{NewNotification, NotificationQueue, NotificationRow, NotificationStatus};
pub use observe::{FaultTraces, FnObserver, Observers, RunInfo, RunObserver};
pub use outbox::{DeliveryChannel, Destination, Outbox, SendError};
pub use pod_read::{PodOwner, PodRead};
pub use preflight::{PlannedFault, PreflightPlan, PreflightVeto, VetoDecision, VetoError};
pub use previews::PlanPreviews;
pub use remote_abort::{AbortRequest, AbortRequested, RemoteAborts};
pub use run_store::{RunFilter, RunStore, VerdictPoint};
pub use sessions::SessionStore;
pub use spent_tokens::SpentTokens;
pub use store::Storage;
pub use store_error::StoreError;
pub use task_pods::{RUN_LABEL, TaskPod, TaskPodError, TaskPods, TaskState};
