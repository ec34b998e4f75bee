//! The traffic scope every network fault takes beside its own fields: which direction,
//! which peers and ports, which interface. Declared like a kind's fields, so the decoder,
//! the docs and the JSON agree on it too; the readers of its fields are here with it.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

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
    /// Narrows a network fault to some traffic. Empty lists mean all traffic.
    #[derive(Eq, Default)]
    pub struct NetworkScope {
        /// Which way the affected traffic flows: `to` (sent by the target), `from`
        /// (received) or `both`.
        direction: Direction as OneOf<Direction> = default, chaos_mesh "direction";
        /// Only traffic to/from these networks (Chaos Mesh `externalTargets` addresses and
        /// resolved `target` pods and `hosts`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        peers: Vec<IpNet> as Peers = default, chaos_mesh "externalTargets";
        /// Only traffic to/from these host names' addresses (Chaos Mesh `externalTargets`
        /// names). The service resolves them when the fault is injected, never at
        /// validate, records the addresses in the run's events and adds them to `peers`;
        /// a name that does not resolve fails the step. The agent never sees a name.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<String> as Hosts = default;
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
    if let Ok(net) = t.parse::<IpNet>() {
        return Some(net);
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    if looks_like_host(t) {
        cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is a host name; peers must be IP addresses or CIDRs"),
            format!("list host names under `hosts:` (`hosts: [{t}]`): they are resolved when the fault is injected"),
        );
    } else {
        cx.err(
            p,
            n.pos,
            format!("`{t}` is not an IP address or CIDR (like `10.0.0.1` or `10.0.0.0/8`)"),
        );
    }
    None
}

/// True for text shaped like a DNS name (letters, digits, `.`, `-`, at least one letter).
pub fn looks_like_host(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 253
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && t.chars().any(|c| c.is_ascii_alphabetic())
        && !t.starts_with(['.', '-'])
}

/// A list of host names, resolved when the fault is injected.
pub struct Hosts;

impl Read for Hosts {
    type Value = Vec<String>;
    fn describe() -> String {
        "list of host names".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<String>> {
        let items = cx.list(node, path)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| host(cx, it, &index(path, i)))
            .collect();
        v.into_iter().collect()
    }
}

/// Reads a host name.
pub fn host(cx: &mut Cx, n: &Node, p: &str) -> Option<String> {
    let s = cx.nonempty(n, p)?;
    let t = s.trim();
    if looks_like_host(t) {
        return Some(t.to_string());
    }
    let hint = if t.parse::<IpNet>().is_ok() || t.parse::<IpAddr>().is_ok() {
        format!("`{t}` is an address: list it under `peers`")
    } else {
        "a DNS name like `db.example.com`".into()
    };
    cx.err_hint(p, n.pos, format!("`{t}` is not a host name"), hint);
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
