//! Fault parameters: one reader per kind, each checking its ranges.

use std::net::IpAddr;

use ipnet::IpNet;

use super::cx::{Cx, Obj, Schema, index};
use super::target::{mode, selector_fields};
use super::tree::Node;
use crate::fault::*;
use crate::selector::PodSelector;
use crate::units::{BitRate, Bytes, Duration};

/// Most stress workers per fault: more only measures the scheduler.
pub const MAX_WORKERS: i64 = 256;

/// A peer selector: Chaos Mesh selector fields plus mode/value.
pub static PEER: Schema = Schema {
    fields: &[
        ("namespaces", None),
        ("labelSelectors", None),
        ("expressionSelectors", None),
        ("fieldSelectors", None),
        ("annotationSelectors", None),
        ("podPhaseSelectors", None),
        ("pods", None),
        ("mode", None),
        ("value", None),
    ],
};

macro_rules! net_schema {
    ($name:ident, [$($f:literal),*]) => {
        /// Fields of this network fault (its own and the traffic scope's).
        pub static $name: Schema = Schema {
            fields: &[$(($f, None),)* ("direction", None), ("peers", None), ("ports", None), ("device", None), ("peerSelector", Some(&PEER))],
        };
    };
}

/// `stressCpu` fields.
pub static STRESS_CPU: Schema = Schema {
    fields: &[("workers", None), ("load", None)],
};
/// `stressMemory` fields.
pub static STRESS_MEMORY: Schema = Schema {
    fields: &[("workers", None), ("size", None)],
};
net_schema!(NETWORK_DELAY, ["latency", "jitter", "correlation"]);
net_schema!(NETWORK_LOSS, ["loss", "correlation"]);
net_schema!(NETWORK_DUPLICATE, ["duplicate", "correlation"]);
net_schema!(NETWORK_CORRUPT, ["corrupt", "correlation"]);
net_schema!(
    NETWORK_REORDER,
    ["reorder", "correlation", "gap", "latency"]
);
net_schema!(NETWORK_BANDWIDTH, ["rate", "limit", "buffer"]);
net_schema!(NETWORK_PARTITION, []);
/// `processKill` fields.
pub static PROCESS_KILL: Schema = Schema {
    fields: &[("signal", None)],
};
/// `processPause` fields.
pub static PROCESS_PAUSE: Schema = Schema {
    fields: &[("method", None)],
};
/// `podKill` fields.
pub static POD_KILL: Schema = Schema {
    fields: &[("gracePeriod", None)],
};
/// `podFailure` fields.
pub static POD_FAILURE: Schema = Schema {
    fields: &[("containerNames", None)],
};
/// `containerKill` fields.
pub static CONTAINER_KILL: Schema = Schema {
    fields: &[("containerNames", None)],
};

/// The schema of a fault kind by its key, in `FaultKind::ALL_NAMES` order.
pub static KINDS: [(&str, &Schema); 14] = [
    ("stressCpu", &STRESS_CPU),
    ("stressMemory", &STRESS_MEMORY),
    ("networkDelay", &NETWORK_DELAY),
    ("networkLoss", &NETWORK_LOSS),
    ("networkDuplicate", &NETWORK_DUPLICATE),
    ("networkCorrupt", &NETWORK_CORRUPT),
    ("networkReorder", &NETWORK_REORDER),
    ("networkBandwidth", &NETWORK_BANDWIDTH),
    ("networkPartition", &NETWORK_PARTITION),
    ("processKill", &PROCESS_KILL),
    ("processPause", &PROCESS_PAUSE),
    ("podKill", &POD_KILL),
    ("podFailure", &POD_FAILURE),
    ("containerKill", &CONTAINER_KILL),
];

/// Reads a required field with `read`, reporting it missing with `what`.
fn req<T>(
    cx: &mut Cx,
    o: &Obj<'_>,
    name: &str,
    what: &str,
    read: impl FnOnce(&mut Cx, &Node, &str) -> Option<T>,
) -> Option<T> {
    match o.get(name) {
        Some(n) => read(cx, n, &o.at(name)),
        None => {
            cx.missing(o, name, what);
            None
        }
    }
}

/// Reads an optional field with `read`; `Some(default)` when absent, `None` when bad.
fn opt<T>(
    cx: &mut Cx,
    o: &Obj<'_>,
    name: &str,
    default: T,
    read: impl FnOnce(&mut Cx, &Node, &str) -> Option<T>,
) -> Option<T> {
    match o.get(name) {
        Some(n) => read(cx, n, &o.at(name)),
        None => Some(default),
    }
}

fn workers(cx: &mut Cx, o: &Obj<'_>) -> Option<u32> {
    req(
        cx,
        o,
        "workers",
        "a whole number from 1 to 256",
        |cx, n, p| cx.int(n, p, 1, MAX_WORKERS),
    )
    .map(|w| w as u32)
}

fn pct(cx: &mut Cx, n: &Node, p: &str) -> Option<crate::units::Percent> {
    cx.percent(n, p)
}

fn dur(cx: &mut Cx, n: &Node, p: &str) -> Option<Duration> {
    cx.parsed(n, p, "a duration >= 0 like `10ms`, `30s` or `1m30s`")
}

fn bytes_nonzero(cx: &mut Cx, n: &Node, p: &str) -> Option<Bytes> {
    let b: Bytes = cx.parsed(n, p, "a size like `256MB`, `50MiB` or `4096`")?;
    if b.0 == 0 {
        cx.err(p, n.pos, "must be more than 0 bytes");
        return None;
    }
    Some(b)
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
    let looks_like_host = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && t.chars().any(|c| c.is_ascii_alphabetic());
    if looks_like_host {
        cx.err_hint(
            p,
            n.pos,
            format!("`{t}` is a host name; peers must be IP addresses or CIDRs"),
            "host names would be resolved at a time and place the run cannot control; write the address, e.g. `10.0.0.0/8`",
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

/// Reads the traffic-scope fields of a network fault.
fn scope(cx: &mut Cx, o: &Obj<'_>) -> Option<NetworkScope> {
    let direction = opt(cx, o, "direction", Direction::To, |cx, n, p| {
        cx.one_of(n, p, &["to", "from", "both"]).map(|d| match d {
            "from" => Direction::From,
            "both" => Direction::Both,
            _ => Direction::To,
        })
    });
    let peers = opt(cx, o, "peers", Vec::new(), |cx, n, p| {
        let items = cx.list(n, p)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| peer(cx, it, &index(p, i)))
            .collect();
        v.into_iter().collect()
    });
    let ports = opt(cx, o, "ports", Vec::new(), |cx, n, p| {
        let items = cx.list(n, p)?;
        let v: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, it)| cx.int(it, &index(p, i), 1, 65535).map(|x| x as u16))
            .collect();
        v.into_iter().collect()
    });
    let device = opt(cx, o, "device", None, |cx, n, p| {
        let d = cx.nonempty(n, p)?;
        // IFNAMSIZ is 16 including the NUL.
        if d.len() > 15 || d.contains('/') || d.contains(char::is_whitespace) {
            cx.err(
                p,
                n.pos,
                format!("`{d}` is not an interface name (at most 15 characters, no `/` or spaces)"),
            );
            return None;
        }
        Some(Some(d))
    });
    let peer_selector = opt(cx, o, "peerSelector", None, |cx, n, p| {
        peer_selector(cx, n, p).map(Some)
    });
    Some(NetworkScope {
        direction: direction?,
        peers: peers?,
        ports: ports?,
        device: device?,
        peer_selector: peer_selector?,
    })
}

/// Reads a peer selector (selector fields with mode/value).
pub fn peer_selector(cx: &mut Cx, n: &Node, p: &str) -> Option<PodSelector> {
    cx.object(n, p, &PEER, |cx, o| {
        let m = mode(cx, o);
        let mut s = selector_fields(cx, o)?;
        s.mode = m?;
        Some(s)
    })
    .flatten()
}

/// Reads the parameters of fault `kind` from `node`.
pub fn fault(cx: &mut Cx, kind: &str, node: &Node, path: &str) -> Option<FaultKind> {
    let schema = KINDS.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s)?;
    // `podKill: {}` and `podKill:` (null) mean the same: no parameters.
    let empty = Node {
        pos: node.pos,
        value: super::tree::Value::Map(Vec::new()),
    };
    let node = if node.is_null() { &empty } else { node };
    cx.object(node, path, schema, |cx, o| params(cx, kind, o))
        .flatten()
}

fn params(cx: &mut Cx, kind: &str, o: &Obj<'_>) -> Option<FaultKind> {
    let corr = |cx: &mut Cx, o: &Obj<'_>| opt(cx, o, "correlation", Default::default(), pct);
    Some(match kind {
        "stressCpu" => {
            let w = workers(cx, o);
            let load = req(cx, o, "load", "a percentage from 0 to 100", pct);
            FaultKind::StressCpu(StressCpu {
                workers: w?,
                load: load?,
            })
        }
        "stressMemory" => {
            let w = workers(cx, o);
            let size = req(cx, o, "size", "a size like `256MB`", bytes_nonzero);
            FaultKind::StressMemory(StressMemory {
                workers: w?,
                size: size?,
            })
        }
        "networkDelay" => {
            let latency = req(cx, o, "latency", "a duration like `10ms`", dur);
            let jitter = opt(cx, o, "jitter", Duration::ZERO, dur);
            let c = corr(cx, o);
            let s = scope(cx, o);
            FaultKind::NetworkDelay(NetworkDelay {
                latency: latency?,
                jitter: jitter?,
                correlation: c?,
                scope: s?,
            })
        }
        "networkLoss" => {
            let loss = req(cx, o, "loss", "a percentage from 0 to 100", pct);
            let (c, s) = (corr(cx, o), scope(cx, o));
            FaultKind::NetworkLoss(NetworkLoss {
                loss: loss?,
                correlation: c?,
                scope: s?,
            })
        }
        "networkDuplicate" => {
            let d = req(cx, o, "duplicate", "a percentage from 0 to 100", pct);
            let (c, s) = (corr(cx, o), scope(cx, o));
            FaultKind::NetworkDuplicate(NetworkDuplicate {
                duplicate: d?,
                correlation: c?,
                scope: s?,
            })
        }
        "networkCorrupt" => {
            let d = req(cx, o, "corrupt", "a percentage from 0 to 100", pct);
            let (c, s) = (corr(cx, o), scope(cx, o));
            FaultKind::NetworkCorrupt(NetworkCorrupt {
                corrupt: d?,
                correlation: c?,
                scope: s?,
            })
        }
        "networkReorder" => {
            let r = req(cx, o, "reorder", "a percentage from 0 to 100", pct);
            let gap = opt(cx, o, "gap", 0, |cx, n, p| {
                cx.int(n, p, 0, i64::from(u32::MAX)).map(|g| g as u32)
            });
            let latency = req(
                cx,
                o,
                "latency",
                "a duration like `10ms` (netem reorders only delayed packets)",
                dur,
            );
            let (c, s) = (corr(cx, o), scope(cx, o));
            FaultKind::NetworkReorder(NetworkReorder {
                reorder: r?,
                correlation: c?,
                gap: gap?,
                latency: latency?,
                scope: s?,
            })
        }
        "networkBandwidth" => {
            let rate = req(cx, o, "rate", "a rate like `1mbps`", |cx, n, p| {
                cx.parsed::<BitRate>(n, p, "a rate like `1mbps` (bps, kbps, mbps, gbps)")
            });
            let limit = req(
                cx,
                o,
                "limit",
                "bytes that may queue, like `20KB`",
                bytes_nonzero,
            );
            let buffer = req(
                cx,
                o,
                "buffer",
                "the bucket size in bytes, like `10KB`",
                bytes_nonzero,
            );
            let s = scope(cx, o);
            FaultKind::NetworkBandwidth(NetworkBandwidth {
                rate: rate?,
                limit: limit?,
                buffer: buffer?,
                scope: s?,
            })
        }
        "networkPartition" => {
            let s = scope(cx, o)?;
            if s.peers.is_empty() && s.peer_selector.is_none() {
                cx.err_hint(
                    &o.at("peers"),
                    o.pos,
                    "a partition needs non-empty `peers` (or a `peerSelector`)",
                    "to drop all traffic use `networkLoss: { loss: 100 }`",
                );
                return None;
            }
            FaultKind::NetworkPartition(NetworkPartition { scope: s })
        }
        "processKill" => {
            let signal = opt(cx, o, "signal", Signal::Kill, |cx, n, p| {
                let s = cx.string(n, p)?;
                let sig = Signal::parse(&s);
                if sig.is_none() {
                    cx.err(
                        p,
                        n.pos,
                        format!(
                            "unknown signal `{s}`; allowed: {}",
                            Signal::ALL_NAMES.join(", ")
                        ),
                    );
                }
                sig
            });
            FaultKind::ProcessKill(ProcessKill { signal: signal? })
        }
        "processPause" => {
            let method = opt(cx, o, "method", PauseMethod::Signal, |cx, n, p| {
                cx.one_of(n, p, &["signal", "freezer"]).map(|m| {
                    if m == "freezer" {
                        PauseMethod::Freezer
                    } else {
                        PauseMethod::Signal
                    }
                })
            });
            FaultKind::ProcessPause(ProcessPause { method: method? })
        }
        "podKill" => {
            let gp = opt(cx, o, "gracePeriod", None, |cx, n, p| {
                dur(cx, n, p).map(Some)
            });
            FaultKind::PodKill(PodKill { grace_period: gp? })
        }
        "podFailure" => {
            let names = opt(cx, o, "containerNames", Vec::new(), |cx, n, p| {
                cx.strings(n, p)
            });
            FaultKind::PodFailure(PodFailure {
                container_names: names?,
            })
        }
        "containerKill" => {
            let names = req(
                cx,
                o,
                "containerNames",
                "a non-empty list of container names",
                |cx, n, p| cx.strings(n, p),
            )?;
            if names.is_empty() {
                cx.err(
                    &o.at("containerNames"),
                    o.pos,
                    "must name at least one container",
                );
                return None;
            }
            FaultKind::ContainerKill(ContainerKill {
                container_names: names,
            })
        }
        _ => return None,
    })
}
