//! Our root qdisc on one device: its handle, what it holds, putting and deleting it.

use crate::error::FaultError;
use crate::netlink::{Netem, Netlink, Tbf, errno};

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

/// `tc qdisc replace dev #IF root handle fa17: netem|tbf ...`: the fault qdisc at the root,
/// for a fault on all of the device's traffic.
pub(super) async fn put(nl: &Netlink, ifindex: u32, shape: &Shape) -> Result<(), FaultError> {
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
            if del(nl, ifindex).await? {
                replace().await
            } else {
                Err(e)
            }
        }
        other => other,
    }
}

/// `tc qdisc del dev #IF root handle fa17:`; true if it was there. The kernel answers
/// ENOENT when the device has no root qdisc and EINVAL ("Invalid handle") when the root
/// has another handle: both mean nothing of ours is there, without a dump to find out.
pub(super) async fn del(nl: &Netlink, ifindex: u32) -> Result<bool, FaultError> {
    match nl
        .qdisc()
        .del(ifindex)
        .root()
        .handle(HANDLE)
        .execute()
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if matches!(errno(&e), Some(libc::ENOENT | libc::EINVAL)) => Ok(false),
        Err(e) => Err(e),
    }
}
