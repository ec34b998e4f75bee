//! Recovering a qdisc fault: delete our root qdisc and our IFB on each interface.

use super::interfaces::{ifb_name, interfaces, netns_of};
use super::root;
use crate::error::FaultError;
use crate::faults::record::{FaultRecord, Recovered};
use crate::netlink::{Link, Netlink};
use faultline_spec::NetworkScope;

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
pub(super) async fn recover_one(
    nl: &Netlink,
    link: &Link,
    all: &[Link],
) -> Result<bool, FaultError> {
    let mut removed = root::del(nl, link.index).await?;
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
