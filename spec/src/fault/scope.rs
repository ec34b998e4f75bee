//! The traffic scope every network fault takes beside its own fields: which direction,
//! which peers and ports, which interface. Declared like a kind's fields, so the decoder,
//! the docs and the JSON agree on it too.

use serde::{Deserialize, Serialize};

use super::declare::params;
use crate::decode::value::{Iface, OneOf, Opt, PeerPods, Peers, Ports};
use crate::selector::PodSelector;

/// Which traffic a network fault affects, as Chaos Mesh defines `direction`: `to` is
/// traffic the target sends (egress of its interfaces), `from` is traffic it receives,
/// `both` is both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Egress from the target (Chaos Mesh's default).
    #[default]
    To,
    /// Ingress to the target.
    From,
    /// Both directions.
    Both,
}

params! {
    /// Narrows a network fault to some traffic. Empty lists mean all traffic.
    #[derive(Eq, Default)]
    pub struct NetworkScope {
        /// Which way the affected traffic flows: `to` (sent by the target), `from`
        /// (received) or `both`.
        direction: Direction as OneOf<Direction> = default, chaos_mesh "direction";
        /// Only traffic to/from these networks (Chaos Mesh `externalTargets` and resolved
        /// `target` pods).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        peers: Vec<ipnet::IpNet> as Peers = default, chaos_mesh "externalTargets";
        /// Only traffic to/from these ports (TCP or UDP).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ports: Vec<u16> as Ports = default;
        /// Interface inside the target's netns; default: every non-loopback interface.
        #[serde(skip_serializing_if = "Option::is_none")]
        device: Option<String> as Opt<Iface> = default, chaos_mesh "device";
        /// Peer pods (Chaos Mesh NetworkChaos `target`): the service resolves them to pod
        /// IPs and adds those to `peers` before the agent sees the fault.
        #[serde(skip_serializing_if = "Option::is_none")]
        peer_selector("peerSelector"): Option<PodSelector> as Opt<PeerPods> = default;
    }
}
