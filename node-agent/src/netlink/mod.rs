//! Route netlink, the way `tc` and `ip` talk to the kernel, without exec'ing them.
//!
//! Shape borrowed from rtnetlink: a [`Netlink`] connection (opened inside a network
//! namespace) -> a handle per object (`qdisc()`, `links()`) -> a request builder whose
//! methods each name the `tc` words they equal -> `async fn execute(self)`.
//! netlink-packet-route has no tbf, netem, htb or u32 option types; [`Tbf`], [`Netem`],
//! [`HtbRoot`], [`HtbClass`] and [`U32Filter`] encode them
//! byte-for-byte as iproute2 does (tests compare with captured `tc` requests).

mod classify;
mod conn;
mod conntrack;
mod htb;
mod ifb;
mod link;
mod netem;
pub(crate) mod nla;
mod qdisc;
mod sock_destroy;
mod tbf;
mod tproxy_route;
mod u32;

pub use classify::{htb_class_message, message_bytes, u32_filter_message};
pub use conn::Netlink;
pub use conntrack::forget_port;
pub use htb::{HtbClass, HtbRoot};
pub use link::Link;
pub use netem::Netem;
pub use qdisc::{QdiscDelRequest, QdiscHandle, QdiscInfo, QdiscRequest, errno};
pub use sock_destroy::{PortSide, destroy_tcp};
pub use tbf::{Peak, Tbf};
pub use u32::{End, U32Filter, filters as u32_filters};
