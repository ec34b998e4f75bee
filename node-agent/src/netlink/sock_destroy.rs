//! Cutting established TCP connections from outside the processes that hold them: the
//! kernel's `SOCK_DESTROY` over `NETLINK_SOCK_DIAG` (what `ss -K` sends; Linux 4.5+, with
//! `CONFIG_INET_DIAG_DESTROY`). The socket is aborted as `tcp_abort` does: the peer gets a
//! reset, the local holder an `ECONNABORTED`.
//!
//! Two steps, both in the namespace's own `sock_diag` socket: a dump of the established
//! TCP sockets of one family (IPv4, then IPv6: a dual-stack server's IPv4 connections are
//! IPv6 sockets too) (`SOCK_DIAG_BY_FAMILY` with an `inet_diag_req_v2`), then one
//! `SOCK_DESTROY` per matching socket, naming it by the `inet_diag_sockid` the dump gave
//! (ports, addresses, interface, cookie). No crate covers `SOCK_DESTROY`
//! (netlink-packet-sock-diag has the dump, not the destroy), so the two request layouts of
//! `include/uapi/linux/inet_diag.h` are written here.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    socket,
};

use crate::error::FaultError;
use crate::netns;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const SOCK_DESTROY: u16 = 21;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
const TCP_ESTABLISHED: u32 = 1;
/// `struct nlmsghdr`.
const HEADER: usize = 16;
/// `struct inet_diag_sockid`: sport, dport, src[4], dst[4], if, cookie[2].
const SOCKID: usize = 48;

/// Which port of a connection to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSide {
    /// The local port (a server's connections on its port).
    Local,
    /// The remote port (a client's connections to a server's port).
    Remote,
}

/// `struct nlmsghdr` + `struct inet_diag_req_v2` asking `kind` about `states` of the
/// `family`'s TCP sockets, for the socket `id` (zeros: every socket).
pub fn request(
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    states: u32,
    id: &[u8; SOCKID],
) -> Vec<u8> {
    let len = HEADER + 8 + SOCKID;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[family, IPPROTO_TCP, 0, 0]);
    m.extend_from_slice(&states.to_ne_bytes());
    m.extend_from_slice(id);
    m
}

/// The messages in one netlink datagram: (type, payload).
pub(super) fn messages(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + HEADER <= buf.len() {
        let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or_default()) as usize;
        let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap_or_default());
        if len < HEADER || at + len > buf.len() {
            break;
        }
        out.push((kind, &buf[at + HEADER..at + len]));
        at += (len + 3) & !3;
    }
    out
}

/// The error code of an `NLMSG_ERROR` payload (0 is an ack).
pub(super) fn errno_of(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap_or_default()))
}

/// The ids of the established sockets in `dump` (the payloads of the dump's
/// `inet_diag_msg`s: family, state, timer, retrans, then the id) on `port` at `side`.
fn matching_ids(payloads: &[&[u8]], port: u16, side: PortSide) -> Vec<[u8; SOCKID]> {
    payloads
        .iter()
        .filter_map(|p| p.get(4..4 + SOCKID))
        .filter(|id| {
            let at = if side == PortSide::Local { 0 } else { 2 };
            u16::from_be_bytes([id[at], id[at + 1]]) == port
        })
        .filter_map(|id| id.try_into().ok())
        .collect()
}

fn diag_socket() -> io::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
    Ok(fd)
}

/// Every payload of the reply to the request just sent, up to `NLMSG_DONE` (a dump) or the
/// first `NLMSG_ERROR` (an ack, or the error).
pub(super) fn replies(fd: &OwnedFd) -> io::Result<(Vec<Vec<u8>>, i32)> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut out = Vec::new();
    loop {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        for (kind, payload) in messages(&buf[..n]) {
            match kind {
                NLMSG_DONE => return Ok((out, 0)),
                NLMSG_ERROR => return Ok((out, errno_of(payload))),
                _ => out.push(payload.to_vec()),
            }
        }
    }
}

/// Aborts the established TCP connections (IPv4 and IPv6) in the namespace at `netns`
/// whose `side` port is `port`; how many it aborted. One gone meanwhile is not an error.
pub fn destroy_tcp(netns: &Path, port: u16, side: PortSide) -> Result<usize, FaultError> {
    let failed = |e: io::Error| FaultError::Io {
        action: "cut the TCP connections (SOCK_DESTROY) in",
        path: netns.to_path_buf(),
        source: e,
    };
    netns::run_in(netns, move || -> io::Result<usize> {
        let fd = diag_socket()?;
        let mut cut = destroy_family(&fd, AF_INET, port, side)?;
        // A kernel without IPv6 answers the IPv6 dump with an error: nothing to cut.
        cut += destroy_family(&fd, AF_INET6, port, side).unwrap_or(0);
        Ok(cut)
    })?
    .map_err(failed)
}

/// [`destroy_tcp`] for the sockets of one family.
fn destroy_family(fd: &OwnedFd, family: u8, port: u16, side: PortSide) -> io::Result<usize> {
    let dump = request(
        SOCK_DIAG_BY_FAMILY,
        NLM_F_REQUEST | NLM_F_DUMP,
        1,
        family,
        1 << TCP_ESTABLISHED,
        &[0; SOCKID],
    );
    send(fd.as_raw_fd(), &dump, MsgFlags::empty())?;
    let (payloads, err) = replies(fd)?;
    if err != 0 {
        return Err(io::Error::from_raw_os_error(-err));
    }
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let mut cut = 0;
    for (seq, id) in matching_ids(&refs, port, side).iter().enumerate() {
        let m = request(
            SOCK_DESTROY,
            NLM_F_REQUEST | NLM_F_ACK,
            seq as u32 + 2,
            family,
            u32::MAX,
            id,
        );
        send(fd.as_raw_fd(), &m, MsgFlags::empty())?;
        match replies(fd)?.1 {
            0 => cut += 1,
            e if -e == libc::ENOENT => {}
            e if -e == libc::EOPNOTSUPP => {
                return Err(io::Error::other(
                    "the kernel cannot destroy sockets (CONFIG_INET_DIAG_DESTROY is off)",
                ));
            }
            e => return Err(io::Error::from_raw_os_error(-e)),
        }
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_an_nlmsghdr_and_an_inet_diag_req_v2() {
        let mut id = [0u8; SOCKID];
        id[..2].copy_from_slice(&8080u16.to_be_bytes());
        let m = request(
            SOCK_DESTROY,
            NLM_F_REQUEST | NLM_F_ACK,
            7,
            AF_INET,
            u32::MAX,
            &id,
        );
        assert_eq!(m.len(), 72);
        assert_eq!(u32::from_ne_bytes(m[..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 21);
        assert_eq!(u16::from_ne_bytes(m[6..8].try_into().unwrap()), 5);
        assert_eq!(&m[16..20], &[2, 6, 0, 0], "AF_INET, TCP");
        assert_eq!(&m[24..26], &8080u16.to_be_bytes(), "the socket id follows");
    }

    #[test]
    fn ids_match_on_the_asked_side() {
        let msg = |sport: u16, dport: u16| {
            let mut p = vec![2, 1, 0, 0];
            p.extend_from_slice(&sport.to_be_bytes());
            p.extend_from_slice(&dport.to_be_bytes());
            p.resize(4 + SOCKID + 20, 0);
            p
        };
        let (a, b) = (msg(8080, 40000), msg(40001, 8080));
        let both = [a.as_slice(), b.as_slice()];
        assert_eq!(matching_ids(&both, 8080, PortSide::Local).len(), 1);
        assert_eq!(
            matching_ids(&both, 8080, PortSide::Remote)[0][..2],
            40001u16.to_be_bytes()
        );
    }
}
