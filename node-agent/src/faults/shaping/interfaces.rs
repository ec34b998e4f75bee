//! Which interfaces of the target's netns a fault shapes, and the IFB that carries each
//! one's received traffic.

use std::path::Path;

use crate::error::FaultError;
use crate::faults::record::FaultRecord;
use crate::netlink::{Link, Netlink};
use faultline_spec::NetworkScope;

/// The IFB that carries `ifindex`'s received traffic (interface names are at most 15
/// characters; `flifb` + an ifindex fits).
pub(super) fn ifb_name(ifindex: u32) -> String {
    format!("flifb{ifindex}")
}

/// The fault's network namespace; a target without one cannot take a network fault.
pub(super) fn netns_of(rec: &FaultRecord) -> Result<&Path, FaultError> {
    rec.resolved
        .netns
        .as_deref()
        .ok_or_else(|| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason: "the target has no network namespace".into(),
        })
}

/// The interfaces a fault applies to: `scope.device`, or every non-loopback interface
/// (our own IFBs excluded).
pub(super) fn interfaces(
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
