//! NetworkChaos: `delay` (with `reorder` inside it, as Chaos Mesh puts it), `loss`,
//! `duplicate`, `corrupt`, `bandwidth`, `partition`; `direction`, `target` (peer pods) and
//! `externalTargets` (peer addresses) narrow the traffic.

use super::common::{
    Translated, action, document_schema, hold_duration, pos_of, target_and_duration,
};
use super::fields::{Paths, actions_of, kinds_of, present};
use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::target::{SELECTOR, mode, selector_fields};
use crate::decode::value::{Dur, Pct, Read};
use crate::experiment::{FaultStep, Step};
use crate::fault::endpoint::{Endpoint, EndpointError, Host, PeerPort};
use crate::fault::kinds::peak_has_its_bucket;
use crate::fault::{FaultKind, FieldDecl, KindDecl, NetworkScope, Params};
use crate::selector::PodSelector;
use crate::units::Duration;

/// The Chaos Mesh kind this file translates.
const KIND: &str = "NetworkChaos";

/// `delay.reorder`.
pub static REORDER: Schema =
    Schema::new(&[("reorder", None), ("correlation", None), ("gap", None)]);
/// `delay`.
pub static DELAY: Schema = Schema::new(&[
    ("latency", None),
    ("jitter", None),
    ("correlation", None),
    ("reorder", Some(&REORDER)),
]);
/// `loss`.
pub static LOSS: Schema = Schema::new(&[("loss", None), ("correlation", None)]);
/// `duplicate`.
pub static DUPLICATE: Schema = Schema::new(&[("duplicate", None), ("correlation", None)]);
/// `corrupt`.
pub static CORRUPT: Schema = Schema::new(&[("corrupt", None), ("correlation", None)]);
/// `bandwidth`.
pub static BANDWIDTH: Schema = Schema::new(&[
    ("rate", None),
    ("limit", None),
    ("buffer", None),
    ("peakrate", None),
    ("minburst", None),
]);
/// `rate` (action netem): netem's own rate limit.
pub static RATE: Schema = Schema::new(&[("rate", None)]);
/// `target`: the peer pods.
pub static TARGET: Schema = Schema::new(&[
    ("selector", Some(&SELECTOR)),
    ("mode", None),
    ("value", None),
]);
/// NetworkChaos `spec`.
pub static SPEC: Schema = Schema::including(
    &[
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
        ("rate", Some(&RATE)),
        ("direction", None),
        ("target", Some(&TARGET)),
        ("externalTargets", None),
        ("device", None),
    ],
    &[&super::common::REFUSED],
);
/// The NetworkChaos document.
pub static ROOT: Schema = document_schema!(SPEC);

/// Reads the traffic scope: `direction` and `device` as the scope's fields declare them;
/// `externalTargets` (addresses and host names, one list) and `target` (peer pods),
/// Chaos Mesh's own shapes, here.
fn scope(cx: &mut Cx, o: &Obj<'_>) -> Option<NetworkScope> {
    let own = NetworkScope::read(cx, &Paths::root(o).hiding(&["externalTargets"]));
    let external = match o.get("externalTargets") {
        Some(n) => external_targets(cx, n, &o.at("externalTargets")),
        None => Some(External::default()),
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
    let mut scope = own?;
    scope.peer_selector = peer_selector?;
    let external = external?;
    (scope.peers, scope.peer_ports, scope.hosts) =
        (external.peers, external.peer_ports, external.hosts);
    Some(scope)
}

/// `externalTargets` sorted into the scope's three lists.
#[derive(Default)]
struct External {
    peers: Vec<ipnet::IpNet>,
    peer_ports: Vec<PeerPort>,
    hosts: Vec<Host>,
}

/// `externalTargets`: each an IP, a CIDR or a host name (resolved when the fault is
/// injected), any of them with `:PORT` (IPv6 in brackets) to mean only that port of it:
/// addresses become `peers`, addresses with a port `peerPorts`, names `hosts`.
fn external_targets(cx: &mut Cx, node: &crate::decode::tree::Node, path: &str) -> Option<External> {
    let items = cx.list(node, path)?;
    let (mut out, mut ok) = (External::default(), true);
    for (i, it) in items.iter().enumerate() {
        let p = crate::decode::cx::index(path, i);
        let Some(text) = cx.nonempty(it, &p) else {
            ok = false;
            continue;
        };
        let text = text.trim().to_string();
        match Endpoint::parse(&text) {
            Ok(Endpoint::Peer(net)) => out.peers.push(net),
            Ok(Endpoint::PeerPort(pp)) => out.peer_ports.push(pp),
            Ok(Endpoint::Host(h)) => out.hosts.push(h),
            Err(EndpointError::BadPort(port)) => {
                cx.err(
                    &p,
                    it.pos,
                    format!("`{text}`: `{port}` is not a port (1 to 65535)"),
                );
                ok = false;
            }
            Err(EndpointError::NotAnEndpoint) => {
                cx.err_hint(
                    &p,
                    it.pos,
                    format!("`{text}` is not an IP address, CIDR or host name"),
                    "like `10.0.0.1`, `10.0.0.0/8`, `db.example.com`, each optionally with a port: `10.0.0.1:80`, `[2001:db8::1]:443`",
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// The kind `action` names: the one whose `when` field is present, else the plain one.
fn kind_for(o: &Obj<'_>, action: &str) -> Option<&'static KindDecl> {
    let all: Vec<_> = kinds_of(KIND)
        .filter(|k| k.chaos_mesh.is_some_and(|c| c.action == action))
        .collect();
    all.iter()
        .find(|k| {
            k.chaos_mesh
                .and_then(|c| c.when)
                .is_some_and(|w| present(o, w))
        })
        .or_else(|| {
            all.iter()
                .find(|k| k.chaos_mesh.is_some_and(|c| c.when.is_none()))
        })
        .copied()
}

/// The Chaos Mesh objects a kind's fields sit in (`delay` for a delay), in order.
fn objects_of(kind: &KindDecl) -> Vec<&'static str> {
    objects_holding(kind, |_| true)
}

/// The objects of `kind`'s fields that pass `keep`, in order, each once.
fn objects_holding(kind: &KindDecl, keep: impl Fn(&FieldDecl) -> bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    for f in kind.fields.iter().filter(|f| keep(f)) {
        if let Some((first, _)) = f.chaos_mesh.and_then(|p| p.split_once('.'))
            && !out.contains(&first)
        {
            out.push(first);
        }
    }
    out
}

fn fault(cx: &mut Cx, o: &Obj<'_>, action: &str, scope: NetworkScope) -> Option<FaultKind> {
    let kind = kind_for(o, action)?;
    // An object that holds a required field must be there (`loss` for a loss).
    for name in objects_holding(kind, FieldDecl::required) {
        if o.get(name).is_none() {
            cx.missing(o, name, &format!("the {name} parameters"));
            return None;
        }
    }
    if kind.fields.is_empty()
        && scope.peers.is_empty()
        && scope.peer_ports.is_empty()
        && scope.hosts.is_empty()
        && scope.peer_selector.is_none()
    {
        // A kind with no parameters of its own, a partition, is its peers.
        cx.err_hint(
            &o.at("action"),
            pos_of(o, "action"),
            "a partition needs peers",
            "add `target:` (peer pods) or `externalTargets:` (addresses)",
        );
        return None;
    }
    let paths = Paths::open(cx, o, "", &SPEC, kind)
        .with_scope(scope)
        .zero_is_unset(&["bandwidth.peakrate", "bandwidth.minburst"]);
    let mut ok = true;
    let fault = kind.read(cx, &paths);
    if kind.chaos_mesh.and_then(|c| c.when) == Some("delay.reorder") {
        ok &= reorder_leaves_delay_alone(cx, &paths);
    }
    let fault = fault?;
    if let FaultKind::NetworkNetem(n) = &fault {
        ok &= netem_does_something(cx, o, n);
    }
    // The fields' names are Chaos Mesh's keys in `bandwidth`, so the native check's
    // messages name the right paths.
    if let (FaultKind::NetworkBandwidth(b), Some(bw)) = (&fault, paths.obj("bandwidth")) {
        ok &= peak_has_its_bucket(cx, bw, b);
    }
    ok.then_some(fault)
}

/// `action: netem` with no effect object would inject a netem that does nothing; reorder
/// needs a delay (the kernel reorders only delayed packets).
fn netem_does_something(cx: &mut Cx, o: &Obj<'_>, n: &crate::fault::kinds::NetworkNetem) -> bool {
    const EFFECTS: [&str; 5] = ["delay", "loss", "duplicate", "corrupt", "rate"];
    if EFFECTS.iter().all(|e| o.get(e).is_none()) {
        cx.err_hint(
            &o.at("action"),
            pos_of(o, "action"),
            "`netem` sets no effect",
            "add at least one of `delay`, `loss`, `duplicate`, `corrupt`, `rate`",
        );
        return false;
    }
    if n.params().reorders_without_delay() {
        cx.err_hint(
            &o.at("delay.latency"),
            pos_of(o, "delay"),
            "netem reorders only delayed packets",
            "set `delay.latency` above 0",
        );
        return false;
    }
    true
}

/// netem carries reorder and delay in one qdisc; faultline's reorder has its own latency
/// only, so a jitter cannot ride along. The delay's `correlation` is checked and, as
/// before, not carried.
fn reorder_leaves_delay_alone(cx: &mut Cx, paths: &Paths<'_>) -> bool {
    let Some(d) = paths.obj("delay") else {
        return false;
    };
    let jitter = d
        .get("jitter")
        .map(|n| (Dur::read(cx, n, &d.at("jitter")), n.pos));
    let correlation = d
        .get("correlation")
        .is_none_or(|n| Pct::read(cx, n, &d.at("correlation")).is_some());
    match jitter {
        Some((None, _)) => false,
        Some((Some(j), pos)) if j != Duration::ZERO => {
            cx.err(
                &d.at("jitter"),
                pos,
                "jitter together with reorder is not supported; set one of them",
            );
            false
        }
        _ => correlation,
    }
}

/// Translates a NetworkChaos `spec`.
pub fn translate(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Translated> {
    let (tgt, dur) = target_and_duration(cx, o, deadline);
    let actions = actions_of(KIND);
    let action = action(cx, o, &actions, &actions.join(", "));
    let scope = scope(cx, o);
    let action = action?;
    // Sub-objects of other actions would be silently ignored by Chaos Mesh; say so.
    let mine = kind_for(o, action).map(objects_of).unwrap_or_default();
    for k in kinds_of(KIND) {
        for other in objects_of(k) {
            let Some(n) = o.get(other) else { continue };
            if mine.contains(&other) || !first_owner(k, other) {
                continue;
            }
            let owner = k.chaos_mesh.map_or(other, |c| c.action);
            cx.err_hint(
                &o.at(other),
                n.pos,
                format!("`{other}` does not apply to action `{action}`"),
                format!("remove it, or set `action: {owner}`"),
            );
        }
    }
    let fault = fault(cx, o, action, scope?);
    let dur = hold_duration(cx, o, dur?);
    let dur = dur?;
    let step = Step::Fault(FaultStep {
        name: None,
        fault: fault?,
        duration: dur,
        until_aborted: dur.is_none(),
        verify: crate::verify::Verify::on(),
        target: None,
    });
    Some(Translated { step, target: tgt? })
}

/// True when `kind` is the first kind that keeps fields in `object` (so a stray object is
/// reported once).
fn first_owner(kind: &KindDecl, object: &str) -> bool {
    kinds_of(KIND)
        .find(|k| objects_of(k).contains(&object))
        .is_some_and(|k| k.name == kind.name)
}

#[cfg(test)]
mod tests {
    use crate::experiment::Step;
    use crate::fault::FaultKind;
    use crate::load::load_str;

    /// The traffic scope is read here, Chaos Mesh's way, and handed to the kind's reader
    /// through `Source::group`: peer pods under `target` and `externalTargets` must arrive.
    #[test]
    fn a_partition_keeps_the_scope_read_chaos_mesh_s_way() {
        let text = "apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata: {name: split}
spec:
  action: partition
  mode: all
  selector: {namespaces: [a]}
  direction: both
  externalTargets: [10.0.0.0/8]
  target:
    mode: one
    selector: {namespaces: [b]}
  duration: 30s
";
        let e = load_str(text, "split.yaml").unwrap_or_else(|e| panic!("{e}"));
        let Some(Step::Fault(f)) = e[0].spec.steps.first() else {
            panic!("{:?}", e[0].spec.steps)
        };
        let FaultKind::NetworkPartition(p) = &f.fault else {
            panic!("{:?}", f.fault)
        };
        assert_eq!(p.scope.direction, crate::fault::Direction::Both);
        assert_eq!(
            p.scope.peers,
            ["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()]
        );
        let peers = p
            .scope
            .peer_selector
            .as_ref()
            .expect("peer pods from `target`");
        assert_eq!(peers.namespaces, ["b"]);
    }
}
