//! `htb` options, encoded as iproute2's `tc/q_htb.c` does, following `struct tc_htb_glob`
//! and `struct tc_htb_opt` in the kernel's `include/uapi/linux/pkt_sched.h`.
//!
//! Scoped faults use htb only as a classifier host: a root `htb` whose unclassified
//! traffic takes the direct (unshaped) path, and one class, fast enough never to be the
//! bottleneck, that carries the fault's netem/tbf qdisc.

use super::nla;
use super::tbf::{CELL_LOG, ratespec};

const TCA_HTB_PARMS: u16 = 1;
const TCA_HTB_INIT: u16 = 2;
const TCA_HTB_CTAB: u16 = 3;
const TCA_HTB_RTAB: u16 = 4;
const TCA_HTB_DIRECT_QLEN: u16 = 5;
const TCA_HTB_RATE64: u16 = 6;
const TCA_HTB_CEIL64: u16 = 7;

/// `TC_HTB_PROTOVER`, the version `tc` announces.
const PROTOVER: u32 = 3;
/// `tc`'s default `r2q`.
const RATE2QUANTUM: u32 = 10;

/// `tc qdisc ... htb direct_qlen N` with `default 0`: packets no filter classifies go
/// straight out, unshaped, through a direct queue of `direct_qlen` packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtbRoot {
    /// Packets the direct queue holds (`direct_qlen`). An IFB's own queue length is only
    /// 32, so this is set explicitly rather than inherited from the device.
    pub direct_qlen: u32,
}

impl HtbRoot {
    /// The payload of `TCA_OPTIONS`: `TCA_HTB_INIT` then `TCA_HTB_DIRECT_QLEN`.
    pub fn options(&self) -> Vec<u8> {
        // tc_htb_glob { version, rate2quantum, defcls, debug, direct_pkts }
        let glob = nla::u32s(&[PROTOVER, RATE2QUANTUM, 0, 0, 0]);
        let mut out = Vec::with_capacity(36);
        nla::push(&mut out, TCA_HTB_INIT, &glob);
        nla::push(
            &mut out,
            TCA_HTB_DIRECT_QLEN,
            &self.direct_qlen.to_ne_bytes(),
        );
        out
    }
}

/// `tc class ... htb rate R ceil R burst B cburst B quantum Q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtbClass {
    /// Guaranteed and ceiling rate, bytes per second.
    pub rate: u64,
    /// Bucket size for both rate and ceil, bytes.
    pub burst: u32,
    /// Bytes a class may send per round (set, so the kernel need not derive a clamped one
    /// from `rate / r2q` and log a warning for it).
    pub quantum: u32,
}

impl HtbClass {
    /// The payload of `TCA_OPTIONS`: `TCA_HTB_RATE64` and `TCA_HTB_CEIL64` (rates of 2^32
    /// bytes/s and more), `TCA_HTB_PARMS`, `TCA_HTB_RTAB`, `TCA_HTB_CTAB`, in `tc`'s order.
    pub fn options(&self) -> Vec<u8> {
        // The 32-bit rate saturates; the kernel then reads the 64-bit attributes.
        let rate32 = u32::try_from(self.rate).unwrap_or(u32::MAX);
        let spec = ratespec(rate32, CELL_LOG);
        let buffer = xmittime64(self.rate, self.burst);
        let mut opt = Vec::with_capacity(44);
        opt.extend_from_slice(&spec); // rate
        opt.extend_from_slice(&spec); // ceil
        // buffer, cbuffer, quantum, level, prio
        opt.extend_from_slice(&nla::u32s(&[buffer, buffer, self.quantum, 0, 0]));

        let mut out = Vec::with_capacity(48 + 24 + 2 * 1028);
        if self.rate > u64::from(u32::MAX) {
            nla::push(&mut out, TCA_HTB_RATE64, &self.rate.to_ne_bytes());
            nla::push(&mut out, TCA_HTB_CEIL64, &self.rate.to_ne_bytes());
        }
        nla::push(&mut out, TCA_HTB_PARMS, &opt);
        // tc_calc_rtable works on the saturated 32-bit rate.
        let table = nla::u32s(
            &(0..256u32)
                .map(|i| super::tbf::xmittime(rate32, (i + 1) << CELL_LOG))
                .collect::<Vec<_>>(),
        );
        nla::push(&mut out, TCA_HTB_RTAB, &table);
        nla::push(&mut out, TCA_HTB_CTAB, &table);
        out
    }
}

/// Ticks to send `size` bytes at `rate` bytes/s with the 64-bit rate, as `tc` computes a
/// class's `buffer` (`tc_calc_xmittime(__u64 rate, ...)`).
fn xmittime64(rate: u64, size: u32) -> u32 {
    if rate == 0 {
        return u32::MAX;
    }
    nla::us_to_ticks(1_000_000.0 * (f64::from(size) / rate as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::nla::hex;

    /// TCA_OPTIONS payload of a captured request: after tcmsg (20), TCA_KIND "htb" (8) and
    /// the TCA_OPTIONS header (4).
    fn captured(hexdump: &str) -> Vec<u8> {
        hex(hexdump)[32..].to_vec()
    }

    #[test]
    fn root_matches_tc() {
        // tc qdisc replace dev lo root handle fa17: htb direct_qlen 1000
        let o = HtbRoot { direct_qlen: 1000 }.options();
        assert_eq!(o, captured(include_str!("testdata/htb_root.hex")));
    }

    #[test]
    fn one_gbit_class_matches_tc() {
        // tc class add dev lo parent fa17: classid fa17:2 htb rate 1gbit burst 64kb
        //   cburst 64kb quantum 60000
        let c = HtbClass {
            rate: 125_000_000,
            burst: 64 * 1024,
            quantum: 60_000,
        };
        assert_eq!(
            c.options(),
            captured(include_str!("testdata/htb_class_1gbit.hex"))
        );
    }

    #[test]
    fn hundred_gbit_class_carries_rate64_and_ceil64() {
        // tc class add dev lo parent fa17: classid fa17:1 htb rate 100gbit burst 1mb
        //   cburst 1mb quantum 60000
        let c = HtbClass {
            rate: 12_500_000_000,
            burst: 1 << 20,
            quantum: 60_000,
        };
        let o = c.options();
        assert_eq!(o, captured(include_str!("testdata/htb_class_100gbit.hex")));
        assert_eq!(&o[0..4], &[12, 0, 6, 0]);
        assert_eq!(
            u64::from_ne_bytes(o[4..12].try_into().unwrap()),
            12_500_000_000
        );
    }
}
