//! Forgetting the kernel's connection-tracking entries of one destination port, so the
//! next packet of a flow is looked at afresh by the NAT rules in force now.
//!
//! NAT is decided once per conntrack entry, at its first packet. A client that sends
//! from the same UDP source port again (a stub resolver keeping its socket, a
//! `dig -b ADDR#PORT`) keeps the entry, and with it the path chosen before: the
//! upstream nameserver after a DNS fault's redirect was added, the stopped proxy after
//! it was removed, for as long as the entry lives (30 s, 120 s once replied both ways).
//! Deleting the port's entries at apply and at recover makes the change take effect at
//! once; what `conntrack -D -p udp --dport 53` does, without the exec.
//!
//! Two steps over `NETLINK_NETFILTER` in the namespace's own socket: a dump of every
//! entry (`IPCTNL_MSG_CT_GET` with `NLM_F_DUMP`), then one `IPCTNL_MSG_CT_DELETE` per entry
//! whose original direction goes to the port, naming it by its dumped original tuple (and
//! zone). The kernel's flush takes no port filter (only a mark or a zone), and no
//! maintained crate speaks ctnetlink's delete (netlink-packet-netfilter 0.4 has nflog and
//! nftables; the `conntrack` crate 0.1 only dumps), so the layouts of
//! `include/uapi/linux/netfilter/nfnetlink_conntrack.h` are written here.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, send, socket,
};

use super::nla;
use super::sock_destroy::replies;
use crate::error::FaultError;
use crate::netns;

/// `NFNL_SUBSYS_CTNETLINK << 8`: the message types of conntrack.
const CTNETLINK: u16 = 1 << 8;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLA_F_NESTED: u16 = 0x8000;
/// `enum ctattr_type`.
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_ZONE: u16 = 18;
/// `enum ctattr_tuple`.
const CTA_TUPLE_PROTO: u16 = 2;
/// `enum ctattr_l4proto`.
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_DST_PORT: u16 = 3;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// `struct nlmsghdr` and `struct nfgenmsg`.
const HEADER: usize = 16;
const NFGENMSG: usize = 4;

/// `struct nlmsghdr` + `struct nfgenmsg` (family, version 0, resource id 0) + `attrs`.
fn request(kind: u16, flags: u16, seq: u32, family: u8, attrs: &[u8]) -> Vec<u8> {
    let len = HEADER + NFGENMSG + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&(CTNETLINK | kind).to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[family, 0, 0, 0]);
    m.extend_from_slice(attrs);
    m
}

/// The delete request's attributes for a dumped entry (the payload after its
/// `nfgenmsg`) whose original direction is UDP or TCP to `port`: its original tuple, and
/// its zone when it has one; `None` for any other entry.
fn delete_attrs(entry: &[u8], port: u16) -> Option<Vec<u8>> {
    let attrs = nla::parse(entry.get(NFGENMSG..)?);
    let tuple = attrs.iter().find(|(k, _)| *k == CTA_TUPLE_ORIG)?.1;
    let proto = nla::parse(tuple)
        .into_iter()
        .find(|(k, _)| *k == CTA_TUPLE_PROTO)?
        .1;
    let l4 = nla::parse(proto);
    let field = |kind| l4.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v);
    let number = *field(CTA_PROTO_NUM)?.first()?;
    let dport = u16::from_be_bytes(field(CTA_PROTO_DST_PORT)?.try_into().ok()?);
    if !matches!(number, IPPROTO_UDP | IPPROTO_TCP) || dport != port {
        return None;
    }
    let mut out = Vec::new();
    nla::push(&mut out, CTA_TUPLE_ORIG | NLA_F_NESTED, tuple);
    if let Some((_, zone)) = attrs.iter().find(|(k, _)| *k == CTA_ZONE) {
        nla::push(&mut out, CTA_ZONE, zone);
    }
    Some(out)
}

fn netfilter_socket() -> io::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkNetFilter,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
    Ok(fd)
}

/// Deletes the conntrack entries in the namespace at `netns` of UDP and TCP flows to
/// `port` (IPv4 and IPv6); how many it deleted. One gone meanwhile is not an error.
pub fn forget_port(netns: &Path, port: u16) -> Result<usize, FaultError> {
    let failed = |e: io::Error| FaultError::Io {
        action: "delete the conntrack entries (ctnetlink) in",
        path: netns.to_path_buf(),
        source: e,
    };
    netns::run_in(netns, move || -> io::Result<usize> {
        let fd = netfilter_socket()?;
        // AF_UNSPEC: the entries of every family.
        let dump = request(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, &[]);
        send(fd.as_raw_fd(), &dump, MsgFlags::empty())?;
        let (entries, err) = replies(&fd)?;
        if err != 0 {
            return Err(io::Error::from_raw_os_error(-err));
        }
        let mut deleted = 0;
        let doomed = entries
            .iter()
            .filter_map(|e| Some((*e.first()?, delete_attrs(e, port)?)));
        for (seq, (family, attrs)) in doomed.enumerate() {
            let flags = NLM_F_REQUEST | NLM_F_ACK;
            let m = request(IPCTNL_MSG_CT_DELETE, flags, seq as u32 + 2, family, &attrs);
            send(fd.as_raw_fd(), &m, MsgFlags::empty())?;
            match replies(&fd)?.1 {
                0 => deleted += 1,
                e if -e == libc::ENOENT => {}
                e => return Err(io::Error::from_raw_os_error(-e)),
            }
        }
        Ok(deleted)
    })?
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dumped entry's payload: nfgenmsg, then CTA_TUPLE_ORIG { CTA_TUPLE_IP {..},
    /// CTA_TUPLE_PROTO { num, sport, dport } } and a zone.
    fn entry(proto: u8, dport: u16, zone: Option<u16>) -> Vec<u8> {
        let mut ip = Vec::new();
        nla::push(&mut ip, 1, &[10, 77, 0, 1]);
        nla::push(&mut ip, 2, &[10, 77, 0, 2]);
        let mut l4 = Vec::new();
        nla::push(&mut l4, CTA_PROTO_NUM, &[proto]);
        nla::push(&mut l4, 2, &40053u16.to_be_bytes());
        nla::push(&mut l4, CTA_PROTO_DST_PORT, &dport.to_be_bytes());
        let mut tuple = Vec::new();
        nla::push(&mut tuple, 1 | NLA_F_NESTED, &ip);
        nla::push(&mut tuple, CTA_TUPLE_PROTO | NLA_F_NESTED, &l4);
        let mut e = vec![2, 0, 0, 0];
        nla::push(&mut e, CTA_TUPLE_ORIG | NLA_F_NESTED, &tuple);
        if let Some(z) = zone {
            nla::push(&mut e, CTA_ZONE, &z.to_be_bytes());
        }
        e
    }

    #[test]
    fn only_udp_and_tcp_entries_to_the_port_are_named_for_deletion() {
        assert!(delete_attrs(&entry(IPPROTO_UDP, 53, None), 53).is_some());
        assert!(delete_attrs(&entry(IPPROTO_TCP, 53, None), 53).is_some());
        assert!(delete_attrs(&entry(IPPROTO_UDP, 5353, None), 53).is_none());
        assert!(delete_attrs(&entry(1, 53, None), 53).is_none(), "ICMP");
        assert!(delete_attrs(&[2, 0], 53).is_none(), "a short entry");
    }

    #[test]
    fn the_delete_names_the_dumped_tuple_and_zone() {
        let e = entry(IPPROTO_UDP, 53, Some(7));
        let attrs = delete_attrs(&e, 53).unwrap();
        // The original tuple, byte for byte as dumped, then the zone.
        assert_eq!(&attrs[..], &e[NFGENMSG..]);
        let m = request(
            IPCTNL_MSG_CT_DELETE,
            NLM_F_REQUEST | NLM_F_ACK,
            2,
            2,
            &attrs,
        );
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 0x0102);
        assert_eq!(&m[16..20], &[2, 0, 0, 0], "AF_INET, version 0");
        assert_eq!(m.len(), HEADER + NFGENMSG + attrs.len());
    }
}
