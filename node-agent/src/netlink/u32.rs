//! `u32` classifier filters that steer matching packets into a class, encoded as iproute2's
//! `tc/f_u32.c` does (`struct tc_u32_sel` and `struct tc_u32_key` in the kernel's
//! `include/uapi/linux/pkt_cls.h`).
//!
//! Offsets are from the network header, as `tc ... u32 match ip dst` / `match ip dport`
//! use them: IPv4 source/destination at 12/16 and ports at 20 (a 20-byte header, i.e. no
//! IP options); IPv6 source/destination at 8/24 and ports at 40 (no extension headers).
//! Like `tc`'s `dport` match, a port match looks at those bytes whatever the transport
//! protocol, so it covers TCP and UDP (and SCTP/DCCP, whose ports sit at the same place).

use std::net::IpAddr;

use faultline_spec::PeerPort;
use ipnet::IpNet;

use super::nla;

const TCA_U32_CLASSID: u16 = 1;
const TCA_U32_SEL: u16 = 5;
/// `TC_U32_TERMINAL`: a match ends classification (tc sets it with `flowid`).
const TERMINAL: u8 = 1;

/// `ETH_P_IP` / `ETH_P_IPV6`.
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;

/// Which end of a packet a filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Source address and port (`match ip src` / `sport`): received traffic.
    Src,
    /// Destination address and port (`match ip dst` / `dport`): sent traffic.
    Dst,
}

/// One `u32` filter: packets of one IP family whose `end` address lies in `net` (any
/// address if `None`) and whose `end` port is `port` (any if `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct U32Filter {
    /// IPv6 (`protocol ipv6`, `match ip6 ...`) rather than IPv4.
    pub v6: bool,
    /// Source or destination.
    pub end: End,
    /// Address prefix to match.
    pub net: Option<IpNet>,
    /// Port to match.
    pub port: Option<u16>,
}

/// `struct tc_u32_key { __be32 mask; __be32 val; int off; int offmask; }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    mask: u32,
    val: u32,
    off: i32,
}

impl U32Filter {
    /// The `protocol` word of the filter (`ETH_P_IP` / `ETH_P_IPV6`), host order.
    pub fn protocol(&self) -> u16 {
        if self.v6 { ETH_P_IPV6 } else { ETH_P_IP }
    }

    fn keys(&self) -> Vec<Key> {
        let mut keys = Vec::new();
        match self.net {
            Some(IpNet::V4(n)) => {
                let plen = u32::from(n.prefix_len());
                let mask = if plen == 0 {
                    0
                } else {
                    u32::MAX << (32 - plen)
                };
                keys.push(Key {
                    mask,
                    val: u32::from(n.addr()) & mask,
                    off: if self.end == End::Src { 12 } else { 16 },
                });
            }
            Some(IpNet::V6(n)) => {
                let words = n.addr().to_bits().to_be_bytes();
                let base = if self.end == End::Src { 8 } else { 24 };
                let plen = u32::from(n.prefix_len());
                // As tc: one key per 32-bit word the prefix reaches into.
                let mut i = 0;
                while i < plen {
                    let w = (i / 32) as usize;
                    let mask = if i + 32 <= plen {
                        u32::MAX
                    } else {
                        u32::MAX << (32 - (plen - i))
                    };
                    let val =
                        u32::from_be_bytes(words[w * 4..w * 4 + 4].try_into().unwrap_or_default());
                    keys.push(Key {
                        mask,
                        val: val & mask,
                        off: base + 4 * w as i32,
                    });
                    i += 32;
                }
            }
            None => {}
        }
        if let Some(p) = self.port {
            // Source port in the high half of the word, destination port in the low half.
            let (mask, val) = match self.end {
                End::Src => (0xffff_0000, u32::from(p) << 16),
                End::Dst => (0x0000_ffff, u32::from(p)),
            };
            keys.push(Key {
                mask,
                val,
                off: if self.v6 { 40 } else { 20 },
            });
        }
        keys
    }

    /// The payload of `TCA_OPTIONS` for `... u32 <matches> flowid <classid>`:
    /// `TCA_U32_CLASSID`, then `TCA_U32_SEL`. No key at all matches every packet.
    pub fn options(&self, classid: u32) -> Vec<u8> {
        let keys = self.keys();
        // tc_u32_sel { flags, offshift, nkeys, pad; offmask; off; offoff; hoff; hmask }
        let mut sel = vec![TERMINAL, 0, keys.len() as u8, 0];
        sel.extend_from_slice(&[0; 12]);
        for k in &keys {
            sel.extend_from_slice(&k.mask.to_be_bytes());
            sel.extend_from_slice(&k.val.to_be_bytes());
            sel.extend_from_slice(&k.off.to_ne_bytes());
            sel.extend_from_slice(&0i32.to_ne_bytes()); // offmask
        }
        let mut out = Vec::with_capacity(8 + 4 + sel.len());
        nla::push(&mut out, TCA_U32_CLASSID, &classid.to_ne_bytes());
        nla::push(&mut out, TCA_U32_SEL, &sel);
        out
    }
}

/// The filters that steer the traffic a scope describes, seen from `end`: those of
/// `peers` x `ports` (one per (peer, port) pair; with no peers, one per port and IP family;
/// with no ports, one per peer), then one per `peer_ports` pair, matching that peer on
/// that port only. u32 filters are alternatives (the first match classifies), so the two
/// add up as the scope's rule says. All empty: none (the caller shapes everything without
/// a classifier).
pub fn filters(
    end: End,
    peers: &[IpNet],
    ports: &[u16],
    peer_ports: &[PeerPort],
) -> Vec<U32Filter> {
    let mut out = peers_times_ports(end, peers, ports);
    out.extend(peer_ports.iter().map(|pp| U32Filter {
        v6: matches!(pp.peer, IpNet::V6(_)),
        end,
        net: Some(pp.peer),
        port: Some(pp.port),
    }));
    out
}

fn peers_times_ports(end: End, peers: &[IpNet], ports: &[u16]) -> Vec<U32Filter> {
    let ports: Vec<Option<u16>> = if ports.is_empty() {
        vec![None]
    } else {
        ports.iter().copied().map(Some).collect()
    };
    let mut out = Vec::new();
    if peers.is_empty() {
        for v6 in [false, true] {
            for &port in &ports {
                if port.is_some() {
                    out.push(U32Filter {
                        v6,
                        end,
                        net: None,
                        port,
                    });
                }
            }
        }
        return out;
    }
    for net in peers {
        for &port in &ports {
            out.push(U32Filter {
                v6: matches!(net.addr(), IpAddr::V6(_)),
                end,
                net: Some(*net),
                port,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::nla::hex;

    /// TCA_OPTIONS payload of a captured filter request: after tcmsg (20), TCA_KIND "u32"
    /// (8) and the TCA_OPTIONS header (4).
    fn captured(hexdump: &str) -> Vec<u8> {
        hex(hexdump)[32..].to_vec()
    }

    const FLOW: u32 = 0xfa17_0001;

    fn f(v6: bool, end: End, net: Option<&str>, port: Option<u16>) -> U32Filter {
        U32Filter {
            v6,
            end,
            net: net.map(|n| n.parse().unwrap()),
            port,
        }
    }

    #[test]
    fn ipv4_matches_tc_byte_for_byte() {
        // match ip dst 10.77.0.2/32 flowid fa17:1
        let o = f(false, End::Dst, Some("10.77.0.2/32"), None).options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_dst4.hex")));
        // match ip dst 10.77.0.0/24 match ip dport 5001 0xffff flowid fa17:1
        let o = f(false, End::Dst, Some("10.77.0.0/24"), Some(5001)).options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_dst4_dport.hex")));
        // match ip dport 5001 0xffff flowid fa17:1
        let o = f(false, End::Dst, None, Some(5001)).options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_dport4.hex")));
        // match ip src 10.0.0.0/8 match ip sport 53 0xffff flowid fa17:1
        let o = f(false, End::Src, Some("10.0.0.0/8"), Some(53)).options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_src4.hex")));
    }

    #[test]
    fn ipv6_matches_tc_byte_for_byte() {
        // protocol ipv6 ... match ip6 src fd00:77::/64 match ip6 sport 443 0xffff
        let o = f(true, End::Src, Some("fd00:77::/64"), Some(443)).options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_src6_sport.hex")));
        // protocol ipv6 ... match ip6 dst fd00::2/128 match ip6 dport 80 0xffff
        let o = f(true, End::Dst, Some("fd00::2/128"), Some(80)).options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_dst6_dport.hex")));
    }

    #[test]
    fn peers_times_ports() {
        let peers: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        let all = filters(End::Dst, &peers, &[80, 443], &[]);
        assert_eq!(all.len(), 4);
        assert_eq!(all.iter().filter(|f| f.v6).count(), 2);
        // Ports only: both families.
        let p = filters(End::Src, &[], &[53], &[]);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|f| f.net.is_none() && f.port == Some(53)));
        assert!(filters(End::Dst, &[], &[], &[]).is_empty());
    }

    #[test]
    fn each_peer_port_pair_is_one_filter_beside_peers_times_ports() {
        let pairs: Vec<PeerPort> = ["10.0.0.0/8:22", "[2001:db8::1]:443"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        // Pairs alone: exactly one filter each, on its own peer and port.
        assert_eq!(
            filters(End::Dst, &[], &[], &pairs),
            [
                f(false, End::Dst, Some("10.0.0.0/8"), Some(22)),
                f(true, End::Dst, Some("2001:db8::1/128"), Some(443)),
            ]
        );
        // Beside peers x ports, the pairs do not take the shared ports, nor the pairs'
        // ports the peers.
        let peers: Vec<IpNet> = vec!["192.0.2.10/32".parse().unwrap()];
        assert_eq!(
            filters(End::Src, &peers, &[80], &pairs[..1]),
            [
                f(false, End::Src, Some("192.0.2.10/32"), Some(80)),
                f(false, End::Src, Some("10.0.0.0/8"), Some(22)),
            ]
        );
        // Ports with no peers still cover every peer of both families.
        assert_eq!(filters(End::Dst, &[], &[53], &pairs[..1]).len(), 3);
        // tc's bytes for a pair are a peer-and-port filter's:
        // match ip src 10.0.0.0/8 match ip sport 53 0xffff flowid fa17:1
        let pair: PeerPort = "10.0.0.0/8:53".parse().unwrap();
        let o = filters(End::Src, &[], &[], &[pair])[0].options(FLOW);
        assert_eq!(o, captured(include_str!("testdata/u32_src4.hex")));
    }
}
