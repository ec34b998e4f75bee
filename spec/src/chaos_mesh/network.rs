//! NetworkChaos: `delay` (with `reorder` inside it, as Chaos Mesh puts it), `loss`,
//! `duplicate`, `corrupt`, `bandwidth`, `partition`; `direction`, `target` (peer pods) and
//! `externalTargets` (peer addresses) narrow the traffic.

use super::common::{Translated, duration, need_duration, pos_of, target};
use crate::decode::cx::{Cx, Obj, Schema, index};
use crate::decode::fault::peer;
use crate::decode::target::{SELECTOR, mode, selector_fields};
use crate::experiment::{FaultStep, Step};
use crate::fault::*;
use crate::selector::PodSelector;
use crate::units::{BitRate, Bytes, Duration, Percent};

/// `delay.reorder`.
pub static REORDER: Schema = Schema {
    fields: &[("reorder", None), ("correlation", None), ("gap", None)],
};
/// `delay`.
pub static DELAY: Schema = Schema {
    fields: &[
        ("latency", None),
        ("jitter", None),
        ("correlation", None),
        ("reorder", Some(&REORDER)),
    ],
};
/// `loss`.
pub static LOSS: Schema = Schema {
    fields: &[("loss", None), ("correlation", None)],
};
/// `duplicate`.
pub static DUPLICATE: Schema = Schema {
    fields: &[("duplicate", None), ("correlation", None)],
};
/// `corrupt`.
pub static CORRUPT: Schema = Schema {
    fields: &[("corrupt", None), ("correlation", None)],
};
/// `bandwidth`.
pub static BANDWIDTH: Schema = Schema {
    fields: &[
        ("rate", None),
        ("limit", None),
        ("buffer", None),
        ("peakrate", None),
        ("minburst", None),
    ],
};
/// `target`: the peer pods.
pub static TARGET: Schema = Schema {
    fields: &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
    ],
};
/// NetworkChaos `spec`.
pub static SPEC: Schema = Schema {
    fields: &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
        ("duration", None),
        ("action", None),
        ("delay", Some(&DELAY)),
        ("loss", Some(&LOSS)),
        ("duplicate", Some(&DUPLICATE)),
        ("corrupt", Some(&CORRUPT)),
        ("bandwidth", Some(&BANDWIDTH)),
        ("direction", None),
        ("target", Some(&TARGET)),
        ("externalTargets", None),
        ("device", None),
    ],
};
/// The NetworkChaos document.
pub static ROOT: Schema = Schema {
    fields: &[
        ("apiVersion", None),
        ("kind", None),
        ("metadata", Some(&super::common::METADATA)),
        ("spec", Some(&SPEC)),
        ("status", None),
    ],
};

/// NetworkChaos actions faultline carries out.
pub const ACTIONS: [&str; 6] = [
    "delay",
    "loss",
    "duplicate",
    "corrupt",
    "bandwidth",
    "partition",
];

fn pct(cx: &mut Cx, o: &Obj<'_>, name: &str, required: bool) -> Option<Percent> {
    match o.get(name) {
        Some(n) => cx.percent(n, &o.at(name)),
        None if required => {
            cx.missing(o, name, "a percentage from 0 to 100, e.g. '25'");
            None
        }
        None => Some(Percent::default()),
    }
}

fn dur(cx: &mut Cx, o: &Obj<'_>, name: &str, required: bool) -> Option<Duration> {
    match o.get(name) {
        Some(n) => cx.parsed(n, &o.at(name), "a duration >= 0 like `10ms`"),
        None if required => {
            cx.missing(o, name, "a duration like `10ms`");
            None
        }
        None => Some(Duration::ZERO),
    }
}

/// Chaos Mesh writes `limit`/`buffer` as plain byte counts; a unit is accepted too.
fn bytes(cx: &mut Cx, o: &Obj<'_>, name: &str) -> Option<Bytes> {
    let Some(n) = o.get(name) else {
        cx.missing(o, name, "a byte count, at least 1");
        return None;
    };
    let b: Bytes = cx.parsed(n, &o.at(name), "a byte count like `20480` or `20KiB`")?;
    if b.0 == 0 {
        cx.err(&o.at(name), n.pos, "must be at least 1 byte");
        return None;
    }
    Some(b)
}

fn scope(cx: &mut Cx, o: &Obj<'_>) -> Option<NetworkScope> {
    let direction = match o.get("direction") {
        Some(n) => cx
            .one_of(n, &o.at("direction"), &["to", "from", "both"])
            .map(|d| match d {
                "from" => Direction::From,
                "both" => Direction::Both,
                _ => Direction::To,
            }),
        None => Some(Direction::To),
    };
    let peers = match o.get("externalTargets") {
        Some(n) => {
            let p = o.at("externalTargets");
            cx.list(n, &p).and_then(|items| {
                let v: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| peer(cx, it, &index(&p, i)))
                    .collect();
                v.into_iter().collect::<Option<Vec<_>>>()
            })
        }
        None => Some(Vec::new()),
    };
    let peer_selector = match o.get("target") {
        Some(n) => cx
            .object(n, &o.at("target"), &TARGET, |cx, t| {
                let m = mode(cx, t);
                let sel: Option<PodSelector> = match t.get("selector") {
                    Some(s) => cx
                        .object(s, &t.at("selector"), &SELECTOR, selector_fields)
                        .flatten(),
                    None => {
                        cx.missing(t, "selector", "which peer pods");
                        None
                    }
                };
                let mut sel = sel?;
                sel.mode = m?;
                Some(Some(sel))
            })
            .flatten(),
        None => Some(None),
    };
    let device = match o.get("device") {
        Some(n) => cx.nonempty(n, &o.at("device")).map(Some),
        None => Some(None),
    };
    Some(NetworkScope {
        direction: direction?,
        peers: peers?,
        ports: Vec::new(),
        device: device?,
        peer_selector: peer_selector?,
    })
}

fn sub<T>(
    cx: &mut Cx,
    o: &Obj<'_>,
    name: &str,
    schema: &'static Schema,
    f: impl FnOnce(&mut Cx, &Obj<'_>) -> Option<T>,
) -> Option<T> {
    match o.get(name) {
        Some(n) => cx.object(n, &o.at(name), schema, f).flatten(),
        None => {
            cx.missing(o, name, &format!("the {name} parameters"));
            None
        }
    }
}

fn fault(cx: &mut Cx, o: &Obj<'_>, action: &str, scope: NetworkScope) -> Option<FaultKind> {
    Some(match action {
        "delay" => sub(cx, o, "delay", &DELAY, |cx, d| {
            let latency = dur(cx, d, "latency", true);
            let jitter = dur(cx, d, "jitter", false);
            let correlation = pct(cx, d, "correlation", false);
            let reorder = match d.get("reorder") {
                Some(n) => cx
                    .object(n, &d.at("reorder"), &REORDER, |cx, r| {
                        let share = pct(cx, r, "reorder", true);
                        let corr = pct(cx, r, "correlation", false);
                        let gap = match r.get("gap") {
                            Some(g) => cx
                                .int(g, &r.at("gap"), 0, i64::from(u32::MAX))
                                .map(|g| g as u32),
                            None => Some(0),
                        };
                        Some((share?, corr?, gap?))
                    })
                    .flatten()
                    .map(Some),
                None => Some(None),
            };
            let (latency, jitter, correlation, reorder) =
                (latency?, jitter?, correlation?, reorder?);
            Some(match reorder {
                // netem carries reorder and delay in one qdisc; faultline's reorder fault
                // has its own latency, so jitter cannot ride along.
                Some((reorder, corr, gap)) => {
                    if jitter != Duration::ZERO {
                        cx.err(
                            &d.at("jitter"),
                            pos_of(d, "jitter"),
                            "jitter together with reorder is not supported; set one of them",
                        );
                        return None;
                    }
                    FaultKind::NetworkReorder(NetworkReorder {
                        reorder,
                        correlation: corr,
                        gap,
                        latency,
                        scope: scope.clone(),
                    })
                }
                None => FaultKind::NetworkDelay(NetworkDelay {
                    latency,
                    jitter,
                    correlation,
                    scope: scope.clone(),
                }),
            })
        })?,
        "loss" => sub(cx, o, "loss", &LOSS, |cx, l| {
            let (v, c) = (pct(cx, l, "loss", true), pct(cx, l, "correlation", false));
            Some(FaultKind::NetworkLoss(NetworkLoss {
                loss: v?,
                correlation: c?,
                scope: scope.clone(),
            }))
        })?,
        "duplicate" => sub(cx, o, "duplicate", &DUPLICATE, |cx, l| {
            let (v, c) = (
                pct(cx, l, "duplicate", true),
                pct(cx, l, "correlation", false),
            );
            Some(FaultKind::NetworkDuplicate(NetworkDuplicate {
                duplicate: v?,
                correlation: c?,
                scope: scope.clone(),
            }))
        })?,
        "corrupt" => sub(cx, o, "corrupt", &CORRUPT, |cx, l| {
            let (v, c) = (
                pct(cx, l, "corrupt", true),
                pct(cx, l, "correlation", false),
            );
            Some(FaultKind::NetworkCorrupt(NetworkCorrupt {
                corrupt: v?,
                correlation: c?,
                scope: scope.clone(),
            }))
        })?,
        "bandwidth" => sub(cx, o, "bandwidth", &BANDWIDTH, |cx, b| {
            let rate = match b.get("rate") {
                Some(n) => cx.parsed::<BitRate>(n, &b.at("rate"), "a rate like `1mbps`"),
                None => {
                    cx.missing(b, "rate", "a rate like `1mbps`");
                    None
                }
            };
            let (limit, buffer) = (bytes(cx, b, "limit"), bytes(cx, b, "buffer"));
            for f in ["peakrate", "minburst"] {
                if let Some(n) = b.get(f) {
                    let zero = n.scalar().is_some_and(|s| s.raw == "0");
                    if !zero {
                        cx.err(
                            &b.at(f),
                            n.pos,
                            format!("`{f}` is not supported: faultline's tbf has one rate"),
                        );
                    }
                }
            }
            Some(FaultKind::NetworkBandwidth(NetworkBandwidth {
                rate: rate?,
                limit: limit?,
                buffer: buffer?,
                scope: scope.clone(),
            }))
        })?,
        _ => {
            if scope.peers.is_empty() && scope.peer_selector.is_none() {
                cx.err_hint(
                    &o.at("action"),
                    pos_of(o, "action"),
                    "a partition needs peers",
                    "add `target:` (peer pods) or `externalTargets:` (addresses)",
                );
                return None;
            }
            FaultKind::NetworkPartition(NetworkPartition { scope })
        }
    })
}

/// Translates a NetworkChaos `spec`.
pub fn translate(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Translated> {
    let tgt = target(cx, o);
    let dur = duration(cx, o, deadline);
    let action = match o.get("action") {
        Some(n) => {
            let a = cx.one_of(n, &o.at("action"), &ACTIONS);
            if a.is_none()
                && n.scalar().is_some_and(|s| s.raw == "netem")
                && let Some(e) = cx.errors.last_mut()
            {
                e.hint = Some("split a `netem` chaos into one NetworkChaos per action".into());
            }
            a
        }
        None => {
            cx.missing(o, "action", &ACTIONS.join(", "));
            None
        }
    };
    let scope = scope(cx, o);
    let action = action?;
    // Sub-objects of other actions would be silently ignored by Chaos Mesh; say so.
    for other in ["delay", "loss", "duplicate", "corrupt", "bandwidth"] {
        if other != action
            && let Some(n) = o.get(other)
        {
            cx.err_hint(
                &o.at(other),
                n.pos,
                format!("`{other}` does not apply to action `{action}`"),
                format!("remove it, or set `action: {other}`"),
            );
        }
    }
    let fault = fault(cx, o, action, scope?);
    let dur = need_duration(cx, o, dur?, "a NetworkChaos");
    let step = Step::Fault(FaultStep {
        name: None,
        fault: fault?,
        duration: Some(dur?),
        target: None,
    });
    Some(Translated { step, target: tgt? })
}
