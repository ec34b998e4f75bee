//! The fault kinds of DESIGN §5, each declared once in `kinds.rs` with its typed
//! parameters.
//!
//! The spec names a kind in `steps` ([`FaultKind`], a one-key map in YAML/JSON:
//! `stressCpu: { workers: 1, load: 100 }`); the agent takes the kinds it carries out as a
//! [`NodeFault`] (same JSON), the service the ones it carries out itself as a
//! [`PodFault`]. [`KINDS`] holds every kind's declaration for the decoders and the docs.

pub mod decl;
pub(crate) mod declare;
pub mod disk;
pub mod dns;
pub mod docs;
pub mod endpoint;
pub mod examples;
pub mod http;
pub mod http_tls;
pub mod kinds;
pub mod netem;
pub mod node;
pub mod params;
pub mod scope;
pub mod values;

pub use decl::{ChaosMesh, Executor, FieldDecl, KindDecl, Targets};
pub use disk::DeviceNumber;
pub use dns::{DnsAnswer, DnsType};
pub use endpoint::{Endpoint, Host, PeerPort};
pub use http::{HttpDirection, HttpMatch, HttpTarget};
pub use http_tls::HttpTls;
pub use kinds::{
    ContainerKill, DiskFill, DnsDelay, DnsError, DnsSpoof, FaultKind, HttpAbort, HttpDelay,
    HttpReplace, HttpReset, IoThrottle, KINDS, MAX_WORKERS, NetworkBandwidth, NetworkCorrupt,
    NetworkDelay, NetworkDuplicate, NetworkLoss, NetworkPartition, NetworkReorder, NodeCordon,
    NodeDrain, NodeFault, NodeTaint, PodFailure, PodFault, PodKill, ProcessKill, ProcessPause,
    STEP_KEYS, StressCpu, StressMemory, ZoneOutage,
};
pub use netem::NetemParams;
pub use node::{TaintEffect, ZONE_LABEL, ZoneLabel};
pub use params::{Grouped, Kind, Params};
pub use scope::{Direction, NetworkScope};
pub use values::{PauseMethod, Signal};
