//! The traffic scope every network fault takes beside its own fields: which direction,
//! which peers and ports, which interface. Declared like a kind's fields, so the decoder,
//! the docs and the JSON agree on it too; the readers of its fields are here with it.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, EndpointError, Host, PeerPort};
use super::params::params;
use crate::decode::cx::{Cx, Schema, index};
use crate::decode::target::{PEER, mode, selector_fields};
use crate::decode::tree::Node;
use crate::decode::value::{OneOf, Opt, Read, Words};
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

impl Words for Direction {
    const WORDS: &'static [&'static str] = &["to", "from", "both"];

    fn from_word(word: &str) -> Self {
        match word {
            "from" => Direction::From,
            "both" => Direction::Both,
            _ => Direction::To,
        }
    }
}

params! {
    /// Narrows a network fault to some traffic. A packet is in scope when its peer is in
    /// `peers` (any peer if `peers` is empty) and, if `ports` is set, one of its ports is in
    /// `ports`; or when its peer and port are one of `peerPorts`. `peers`, `ports` and
    /// `peerPorts` all empty (after `hosts` and `peerSelector` are resolved): all traffic.
    #[derive(Eq, Default)]
    pub struct NetworkScope {
        /// Which way the affected traffic flows: `to` (sent by the target), `from`
        /// (received) or `both`.
        direction: Direction as OneOf<Direction> = default, chaos_mesh "direction";
        /// Only traffic to/from these networks (Chaos Mesh `externalTargets` addresses and
        /// resolved `target` pods and `hosts`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        peers: Vec<IpNet> as Peers = default, chaos_mesh "externalTargets";
        /// Only traffic with these peers on these ports, each pair on its own: `ADDRESS:PORT`
        /// or `CIDR:PORT`, IPv6 in brackets (`10.0.0.1:80`, `10.0.0.0/8:22`,
        /// `[2001:db8::1]:443`); a pair matches whichever side's port it is, as `ports`
        /// do. (Chaos Mesh `externalTargets` with a port.) The rule: a packet is in scope
        /// when its peer is in `peers` (any peer if `peers` is empty) and, if `ports` is
        /// set, its port is in `ports`; OR when its peer and port are one of `peerPorts`.
        /// So `ports` narrow every one of `peers` but no pair, and a pair narrows only its
        /// own peer. `peers`, `ports` and `peerPorts` all empty (after `hosts` and
        /// `peerSelector` are resolved): all traffic.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        peer_ports("peerPorts"): Vec<PeerPort> as PeerPorts = default;
        /// Only traffic to/from these host names' addresses (Chaos Mesh `externalTargets`
        /// names), optionally on one port (`db.shop.svc:5432`). The service resolves them
        /// when the fault is injected, never at validate, records the addresses in the
        /// run's events and adds them to `peers` (a name with a port: to `peerPorts`); a
        /// name that does not resolve fails the step. The agent never sees a name.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<Host> as Hosts = default;
        /// Only traffic to/from these ports (TCP or UDP), of every one of `peers`.
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

/// A list of IP addresses or CIDRs (never host names).
pub struct Peers;

impl Read for Peers {
    type Value = Vec<IpNet>;
    fn describe() -> String {
        "list of IPs or CIDRs".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<IpNet>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| peer(cx, it, &index(path, i)))
            .collect();
        v.into_iter().collect()
    }
}

/// Reads a peer: an IP address or a CIDR.
pub fn peer(cx: &mut Cx, n: &Node, p: &str) -> Option<IpNet> {
    let s = cx.nonempty(n, p)?;
    let t = s.trim();
    match Endpoint::parse(t) {
        Ok(Endpoint::Peer(net)) => return Some(net),
        Ok(Endpoint::Host(h)) => cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is a host name; peers must be IP addresses or CIDRs"),
            format!("list host names under `hosts:` (`hosts: [{h}]`): they are resolved when the fault is injected"),
        ),
        Ok(Endpoint::PeerPort(pp)) => cx.err_hint(
            p,
            n.pos,
            format!("`{t}` has a port; peers are IP addresses or CIDRs on every port"),
            format!("list a peer on one port under `peerPorts:` (`peerPorts: [\"{pp}\"]`)"),
        ),
        Err(_) => cx.err(
            p,
            n.pos,
            format!("`{t}` is not an IP address or CIDR (like `10.0.0.1` or `10.0.0.0/8`)"),
        ),
    }
    None
}

/// A list of peers each on one port.
pub struct PeerPorts;

impl Read for PeerPorts {
    type Value = Vec<PeerPort>;
    fn describe() -> String {
        "list of `ADDRESS:PORT` or `CIDR:PORT`".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<PeerPort>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| peer_port(cx, it, &index(path, i)))
            .collect();
        v.into_iter().collect()
    }
}

/// Reads a peer on one port: `ADDRESS:PORT`, `CIDR:PORT`, `[IPV6]:PORT`.
pub fn peer_port(cx: &mut Cx, n: &Node, p: &str) -> Option<PeerPort> {
    let s = cx.nonempty(n, p)?;
    let t = s.trim();
    let like = "like `10.0.0.1:80`, `10.0.0.0/8:22` or `[2001:db8::1]:443`";
    match Endpoint::parse(t) {
        Ok(Endpoint::PeerPort(pp)) => return Some(pp),
        Ok(Endpoint::Peer(net)) => {
            let with = match net {
                IpNet::V4(_) => format!("`{t}:80`"),
                IpNet::V6(_) => format!("`[{t}]:80`"),
            };
            cx.err_hint(
                p,
                n.pos,
                format!("`{t}` has no port"),
                format!("write the port after it ({with}; IPv6 in brackets), or list the peer under `peers:` for every port"),
            );
        }
        Ok(Endpoint::Host(h)) => cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is a host name; peerPorts must be IP addresses or CIDRs with a port"),
            format!("list host names under `hosts:` (`hosts: [\"{h}\"]`): they are resolved when the fault is injected"),
        ),
        Err(EndpointError::BadPort(port)) => cx.err(
            p,
            n.pos,
            format!("`{t}`: `{port}` is not a port (1 to 65535)"),
        ),
        Err(EndpointError::NotAnEndpoint) => cx.err(
            p,
            n.pos,
            format!("`{t}` is not an address or CIDR with a port ({like})"),
        ),
    }
    None
}

/// A list of host names, each with an optional port, resolved when the fault is injected.
pub struct Hosts;

impl Read for Hosts {
    type Value = Vec<Host>;
    fn describe() -> String {
        "list of host names, each with an optional `:PORT`".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Host>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| host(cx, it, &index(path, i)))
            .collect();
        v.into_iter().collect()
    }
}

/// Reads a host name, optionally with `:PORT`.
pub fn host(cx: &mut Cx, n: &Node, p: &str) -> Option<Host> {
    let s = cx.nonempty(n, p)?;
    let t = s.trim();
    match Endpoint::parse(t) {
        Ok(Endpoint::Host(h)) => return Some(h),
        Ok(Endpoint::Peer(_)) => cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is not a host name"),
            format!("`{t}` is an address: list it under `peers`"),
        ),
        Ok(Endpoint::PeerPort(_)) => cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is not a host name"),
            format!("`{t}` is an address with a port: list it under `peerPorts`"),
        ),
        Err(EndpointError::BadPort(port)) => cx.err(
            p,
            n.pos,
            format!("`{t}`: `{port}` is not a port (1 to 65535)"),
        ),
        Err(EndpointError::NotAnEndpoint) => cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is not a host name"),
            "a DNS name like `db.example.com`, optionally with a port: `db.example.com:5432`",
        ),
    }
    None
}

/// A list of TCP/UDP ports.
pub struct Ports;

impl Read for Ports {
    type Value = Vec<u16>;
    fn describe() -> String {
        "list of ports".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<u16>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| cx.int(it, &index(path, i), 1, 65535).map(|x| x as u16))
            .collect();
        v.into_iter().collect()
    }
}

/// A network interface name.
pub struct Iface;

impl Read for Iface {
    type Value = String;
    fn describe() -> String {
        "interface name".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let d = cx.nonempty(node, path)?;
        // IFNAMSIZ is 16 including the NUL.
        if d.len() > 15 || d.contains('/') || d.contains(char::is_whitespace) {
            cx.err(
                path,
                node.pos,
                format!("`{d}` is not an interface name (at most 15 characters, no `/` or spaces)"),
            );
            return None;
        }
        Some(d)
    }
}

/// Pods by selector fields with `mode`/`value` beside them.
pub struct PeerPods;

impl Read for PeerPods {
    type Value = PodSelector;
    fn describe() -> String {
        "pod selector".into()
    }
    const CHILD: Option<&'static Schema> = Some(&PEER);

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<PodSelector> {
        cx.object(node, path, &PEER, |cx, o| {
            let m = mode(cx, o);
            let mut s = selector_fields(cx, o)?;
            s.mode = m?;
            Some(s)
        })
        .flatten()
    }
}
