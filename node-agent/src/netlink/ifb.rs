//! Ingress redirection to an IFB device, so a root qdisc on the IFB shapes what an
//! interface receives (Chaos Mesh's `direction: from`).

use std::io;

use futures::TryStreamExt;
use rtnetlink::LinkIfb;

use super::conn::Netlink;
use crate::error::FaultError;

/// `ETH_P_ALL`, in network byte order as `tcm_info` carries it (`protocol all`).
const PROTOCOL_ALL: u16 = 0x0003u16.to_be();
/// The ingress qdisc's parent and handle (`ffff:fff1`, `ffff:`).
const INGRESS_PARENT: u32 = 0xffff_fff1;
const INGRESS_HANDLE: u32 = 0xffff_0000;

impl Netlink {
    fn fail(&self, what: String, e: rtnetlink::Error) -> FaultError {
        FaultError::Netlink {
            action: format!("{what} (in {})", self.netns().display()),
            source: Box::new(io::Error::other(e)),
        }
    }

    /// `ip link add NAME type ifb && ip link set NAME up`; returns the new interface's index.
    pub async fn add_ifb(&self, name: &str) -> Result<u32, FaultError> {
        self.handle()
            .link()
            .add(LinkIfb::new(name).up().build())
            .execute()
            .await
            .map_err(|e| self.fail(format!("ip link add {name} type ifb"), e))?;
        let mut got = self
            .handle()
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match got.try_next().await {
            Ok(Some(link)) => Ok(link.header.index),
            Ok(None) => Err(self.fail(
                format!("ip link show {name}"),
                rtnetlink::Error::RequestFailed,
            )),
            Err(e) => Err(self.fail(format!("ip link show {name}"), e)),
        }
    }

    /// `ip link del dev #INDEX`.
    pub async fn del_link(&self, index: u32) -> Result<(), FaultError> {
        self.handle()
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|e| self.fail(format!("ip link del dev #{index}"), e))
    }

    /// `tc qdisc add dev #IF handle ffff: ingress` then `tc filter add dev #IF parent ffff:
    /// protocol all u32 match u32 0 0 action mirred egress redirect dev #TO`.
    pub async fn redirect_ingress(&self, ifindex: u32, to: u32) -> Result<(), FaultError> {
        let mut qdisc = self.handle().qdisc();
        qdisc
            .add(ifindex as i32)
            .ingress()
            .execute()
            .await
            .map_err(|e| {
                self.fail(
                    format!("tc qdisc add dev #{ifindex} handle ffff: ingress"),
                    e,
                )
            })?;
        let words = format!(
            "tc filter add dev #{ifindex} parent ffff: protocol all u32 match u32 0 0 action \
             mirred egress redirect dev #{to}"
        );
        let req = self
            .handle()
            .traffic_filter(ifindex as i32)
            .add()
            .parent(INGRESS_HANDLE)
            .protocol(PROTOCOL_ALL)
            .redirect(to)
            .map_err(|e| self.fail(words.clone(), e))?;
        req.execute().await.map_err(|e| self.fail(words, e))
    }

    /// `tc qdisc del dev #IF ingress` (its filters go with it).
    pub async fn del_ingress(&self, ifindex: u32) -> Result<(), FaultError> {
        self.qdisc()
            .del(ifindex)
            .parent(0xffff, 0xfff1)
            .execute()
            .await
    }

    /// True if `#IF` has an ingress or clsact qdisc.
    pub async fn has_ingress(&self, ifindex: u32) -> Result<bool, FaultError> {
        let all = self.qdisc().list(Some(ifindex)).await?;
        Ok(all
            .iter()
            .any(|q| q.parent == INGRESS_PARENT || q.handle == INGRESS_HANDLE))
    }
}
