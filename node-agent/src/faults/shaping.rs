//! What the netem and tbf families share: pick the interfaces in the target's netns, put
//! one root qdisc with our handle on each (and on an IFB for received traffic), all or
//! nothing; recover by deleting exactly what carries our marks.
//!
//! With `peers`/`ports` set the root is an htb tree that shapes only that traffic (see
//! [`super::scoped`]); it carries the same handle, so recovery is the same.
//!
//! Ownership marks: our root qdiscs have handle `fa17:` ([`HANDLE`]), our IFB devices are
//! named `flifb<ifindex>`. Recovery touches nothing else, so a qdisc someone else put there
//! later survives it. One netns interface carries at most one qdisc fault at a time: a
//! second apply replaces the first (`tc qdisc replace` semantics), as in Chaos Mesh.
//! Deleting our root brings back the kernel's default qdisc, not one that was configured
//! before the fault.

use std::path::Path;

use super::record::{FaultRecord, Recovered};
use super::scoped;
use crate::error::FaultError;
use crate::kmod;
use crate::netlink::{End, Link, Netem, Netlink, Tbf, errno};
use faultline_spec::{Direction, NetworkScope};

/// Major number of every root qdisc faultline installs (`handle fa17:`).
pub const HANDLE: u16 = 0xfa17;

/// The qdisc a fault puts at the root.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// `netem ...`.
    Netem(Netem),
    /// `tbf ...`.
    Tbf(Tbf),
}

/// The IFB that carries `ifindex`'s received traffic (interface names are at most 15
/// characters; `flifb` + an ifindex fits).
fn ifb_name(ifindex: u32) -> String {
    format!("flifb{ifindex}")
}

fn netns_of(rec: &FaultRecord) -> Result<&Path, FaultError> {
    rec.resolved
        .netns
        .as_deref()
        .ok_or_else(|| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason: "the target has no network namespace".into(),
        })
}

/// Everything the kernel must offer for this fault, checked before anything changes.
fn modules(shape: &Shape, scope: &NetworkScope) -> Vec<kmod::Module> {
    let mut m = vec![match shape {
        Shape::Netem(_) => kmod::SCH_NETEM,
        Shape::Tbf(_) => kmod::SCH_TBF,
    }];
    if scoped::is_scoped(scope) {
        m.extend([kmod::SCH_HTB, kmod::CLS_U32]);
    }
    if scope.direction != Direction::To {
        m.extend([
            kmod::IFB,
            kmod::SCH_INGRESS,
            kmod::CLS_U32,
            kmod::ACT_MIRRED,
        ]);
    }
    m
}

/// The interfaces a fault applies to: `scope.device`, or every non-loopback interface
/// (our own IFBs excluded).
fn interfaces(
    nl: &Netlink,
    links: &[Link],
    rec: &FaultRecord,
    scope: &NetworkScope,
) -> Result<Vec<Link>, FaultError> {
    let links = links.iter().cloned();
    let chosen: Vec<Link> = match &scope.device {
        Some(dev) => links.into_iter().filter(|l| &l.name == dev).collect(),
        None => links
            .into_iter()
            .filter(|l| !l.loopback && !l.name.starts_with("flifb"))
            .collect(),
    };
    if chosen.is_empty() {
        let what = match &scope.device {
            Some(dev) => format!(
                "interface {dev} in network namespace {}",
                nl.netns().display()
            ),
            None => format!(
                "a non-loopback interface in network namespace {}",
                nl.netns().display()
            ),
        };
        return Err(FaultError::TargetNotFound(format!(
            "{what} (for {})",
            rec.target
        )));
    }
    Ok(chosen)
}

/// Applies `shape` as `scope` says, on every chosen interface or on none.
pub(crate) async fn apply(
    rec: &FaultRecord,
    scope: &NetworkScope,
    shape: Shape,
) -> Result<(), FaultError> {
    let netns = netns_of(rec)?;
    for m in modules(&shape, scope) {
        kmod::ensure(m)?;
    }
    // Kept for recover: the socket set-up is the dearest part of a small fault.
    let nl = Netlink::open_kept(netns)?;
    let result = apply_all(&nl, rec, scope, &shape).await;
    if result.is_err() {
        Netlink::forget_kept(netns);
    }
    result
}

async fn apply_all(
    nl: &Netlink,
    rec: &FaultRecord,
    scope: &NetworkScope,
    shape: &Shape,
) -> Result<(), FaultError> {
    let all = nl.links().await?;
    let links = interfaces(nl, &all, rec, scope)?;
    for (i, link) in links.iter().enumerate() {
        if let Err(e) = apply_one(nl, link, &all, scope, shape).await {
            // All or nothing: undo this interface and the ones before it. The apply error is
            // what the caller needs; an undo failure would only hide it.
            let now = nl.links().await.unwrap_or_default();
            for done in &links[..=i] {
                let _ = recover_one(nl, done, &now).await;
            }
            return Err(e);
        }
    }
    Ok(())
}

async fn apply_one(
    nl: &Netlink,
    link: &Link,
    all: &[Link],
    scope: &NetworkScope,
    shape: &Shape,
) -> Result<(), FaultError> {
    let dir = scope.direction;
    if dir != Direction::From {
        put(nl, link.index, End::Dst, scope, shape).await?;
    }
    if dir != Direction::To {
        let name = ifb_name(link.index);
        let ifb = match all.iter().find(|l| l.name == name) {
            Some(l) => l.index, // applied before: idempotent
            None => {
                if nl.has_ingress(link.index).await? {
                    return Err(FaultError::Unsupported {
                        kind: "network",
                        target: format!("{} in {}", link.name, nl.netns().display()),
                        reason:
                            "the interface already has an ingress/clsact qdisc (another tool's \
                                 filters); faultline will not replace it"
                                .into(),
                    });
                }
                let ifb = nl.add_ifb(&name).await?;
                nl.redirect_ingress(link.index, ifb).await?;
                ifb
            }
        };
        put(nl, ifb, End::Src, scope, shape).await?;
    }
    Ok(())
}

/// The fault on one device: the fault qdisc at the root, or the scoped htb tree.
async fn put(
    nl: &Netlink,
    ifindex: u32,
    end: End,
    scope: &NetworkScope,
    shape: &Shape,
) -> Result<(), FaultError> {
    if scoped::is_scoped(scope) {
        return scoped::put(nl, ifindex, end, scope, shape).await;
    }
    let replace = || {
        let req = nl.qdisc().replace(ifindex).root().handle(HANDLE);
        match shape {
            Shape::Netem(n) => req.netem(n),
            Shape::Tbf(t) => req.tbf(t),
        }
        .execute()
    };
    match replace().await {
        // Our root may hold another kind (an earlier fault's htb tree, or netem where tbf
        // is wanted): the kernel changes a qdisc in place only into its own kind.
        Err(e) if errno(&e) == Some(libc::EINVAL) => {
            if scoped::del_root(nl, ifindex).await? {
                replace().await
            } else {
                Err(e)
            }
        }
        other => other,
    }
}

/// Removes our qdiscs and IFBs from the fault's interfaces. Netns gone = `TargetGone`.
pub(crate) async fn recover(
    rec: &FaultRecord,
    scope: &NetworkScope,
) -> Result<Recovered, FaultError> {
    let netns = netns_of(rec)?;
    let nl = match Netlink::take_kept(netns, rec.resolved.netns_id) {
        Ok(nl) => nl,
        Err(FaultError::TargetNotFound(what)) => return Ok(Recovered::TargetGone(what)),
        Err(e) => return Err(e),
    };
    let all = nl.links().await?;
    let links = match interfaces(&nl, &all, rec, scope) {
        Ok(l) => l,
        // The device went away (and its qdiscs with it).
        Err(FaultError::TargetNotFound(_)) => return Ok(Recovered::AlreadyGone),
        Err(e) => return Err(e),
    };
    let mut removed = false;
    for link in &links {
        removed |= recover_one(&nl, link, &all).await?;
    }
    Ok(if removed {
        Recovered::Removed
    } else {
        Recovered::AlreadyGone
    })
}

/// Deletes our root qdisc on `link` and its IFB (with the ingress redirect). True if
/// anything was there.
async fn recover_one(nl: &Netlink, link: &Link, all: &[Link]) -> Result<bool, FaultError> {
    let mut removed = scoped::del_root(nl, link.index).await?;
    let name = ifb_name(link.index);
    if let Some(ifb) = all.iter().find(|l| l.name == name) {
        // Filter first: a mirred action pointing at a deleted device drops what it gets.
        if nl.has_ingress(link.index).await? {
            nl.del_ingress(link.index).await?;
        }
        nl.del_link(ifb.index).await?;
        removed = true;
    }
    Ok(removed)
}
