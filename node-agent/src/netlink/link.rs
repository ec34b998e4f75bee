//! Interfaces of a namespace (`ip link show`).

use std::path::Path;

use futures::TryStreamExt;
use rtnetlink::Handle;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};

use crate::error::FaultError;

/// One interface as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFF_LOOPBACK`.
    pub loopback: bool,
}

/// `ip link show`: every interface in the namespace of `handle`.
pub(crate) async fn list(handle: &Handle, netns: &Path) -> Result<Vec<Link>, FaultError> {
    let mut stream = handle.link().get().execute();
    let mut out = Vec::new();
    let fail = |e: rtnetlink::Error| FaultError::Netlink {
        action: format!("list interfaces in {}", netns.display()),
        source: Box::new(e),
    };
    while let Some(msg) = stream.try_next().await.map_err(fail)? {
        let name = msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        out.push(Link {
            index: msg.header.index,
            name: name.unwrap_or_default(),
            loopback: msg.header.flags.contains(LinkFlags::Loopback),
        });
    }
    Ok(out)
}
