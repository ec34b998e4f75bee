//! Applying a qdisc fault: on every chosen interface (and its IFB for received traffic)
//! or on none.

use super::interfaces::{ifb_name, interfaces, netns_of};
use super::recover::recover_one;
use super::root::{self, Shape};
use super::scoped;
use crate::error::FaultError;
use crate::faults::record::FaultRecord;
use crate::kmod;
use crate::netlink::{End, Link, Netlink};
use faultline_spec::{Direction, NetworkScope};

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
        scoped::put(nl, ifindex, end, scope, shape).await
    } else {
        root::put(nl, ifindex, shape).await
    }
}
