//! Peer/port scoping for the netem and tbf families: instead of the fault qdisc at the
//! root, an `htb` root (our handle `fa17:`) whose unclassified packets pass unshaped, one
//! class `fa17:1` carrying the fault qdisc, and `u32` filters that steer only the scoped
//! traffic into that class (`tc filter ... u32 match ip dst P match ip dport N flowid
//! fa17:1`, one per peer and port, and one per `peerPorts` pair). Everything hangs under our root, so recovery stays "delete our root".

use super::root::{self, HANDLE, Shape};
use crate::error::FaultError;
use crate::netlink::{End, HtbClass, HtbRoot, Netlink, u32_filters};
use faultline_spec::NetworkScope;

/// Minor number of the class that carries the fault.
const FAULT_CLASS: u16 = 1;
/// Handle of the fault qdisc under that class.
pub(super) const CHILD: u16 = 0xfa18;

/// The class is only a container: 100 Gbit/s, far above what a veth or an IFB moves, so
/// the fault qdisc under it is what shapes.
const CLASS: HtbClass = HtbClass {
    rate: 12_500_000_000,
    burst: 1 << 20,
    quantum: 60_000,
};

/// Direct (unclassified) queue length: a veth's own default. An IFB's is 32, too short
/// for the unshaped traffic that now queues there.
const ROOT: HtbRoot = HtbRoot { direct_qlen: 1000 };

/// True if `scope` limits the fault to some peers, ports or peer-port pairs.
pub(super) fn is_scoped(scope: &NetworkScope) -> bool {
    !scope.peers.is_empty() || !scope.ports.is_empty() || !scope.peer_ports.is_empty()
}

/// Puts the scoped tree on `ifindex`, matching the `end` address/port of its packets
/// (`Dst` on an interface's egress, `Src` on the IFB that carries what it receives).
/// Replaces whatever tree of ours was there, so applying twice leaves one tree.
pub(super) async fn put(
    nl: &Netlink,
    ifindex: u32,
    end: End,
    scope: &NetworkScope,
    shape: &Shape,
) -> Result<(), FaultError> {
    // htb cannot change into another tree in place: start from nothing of ours.
    root::del(nl, ifindex).await?;
    nl.qdisc()
        .replace(ifindex)
        .root()
        .handle(HANDLE)
        .htb(&ROOT)
        .execute()
        .await?;
    nl.add_htb_class(ifindex, HANDLE, FAULT_CLASS, &CLASS)
        .await?;
    let child = nl
        .qdisc()
        .add(ifindex)
        .parent(HANDLE, FAULT_CLASS)
        .handle(CHILD);
    match shape {
        Shape::Netem(n) => child.netem(n),
        Shape::Tbf(t) => child.tbf(t),
    }
    .execute()
    .await?;
    let filters = u32_filters(end, &scope.peers, &scope.ports, &scope.peer_ports);
    nl.add_u32_filters(ifindex, HANDLE, &filters, FAULT_CLASS)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ports_alone_scope_the_fault() {
        assert!(!is_scoped(&NetworkScope::default()));
        let s = NetworkScope {
            peer_ports: vec!["10.0.0.1:80".parse().unwrap()],
            ..NetworkScope::default()
        };
        assert!(is_scoped(&s));
    }
}
