//! Route netlink, the way `tc` and `ip` talk to the kernel, without exec'ing them.
//!
//! Shape borrowed from rtnetlink: a [`Netlink`] connection (opened inside a network
//! namespace) -> a handle per object (`qdisc()`, `links()`) -> a request builder whose
//! methods each name the `tc` words they equal -> `async fn execute(self)`.
//! netlink-packet-route has no tbf or netem option types; [`Tbf`] and [`Netem`] encode them
//! byte-for-byte as iproute2 does (tests compare with captured `tc` requests).

mod conn;
mod ifb;
mod link;
mod netem;
pub(crate) mod nla;
mod qdisc;
mod tbf;

pub use conn::Netlink;
pub use link::Link;
pub use netem::Netem;
pub use qdisc::{QdiscDelRequest, QdiscHandle, QdiscInfo, QdiscRequest, errno};
pub use tbf::Tbf;
