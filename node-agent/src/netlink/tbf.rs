//! `tbf` options (`TCA_OPTIONS` of a tbf qdisc), encoded as iproute2's `tc/q_tbf.c` does,
//! following `struct tc_tbf_qopt` in the kernel's `include/uapi/linux/pkt_sched.h`.

use super::nla;

const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RTAB: u16 = 2;
const TCA_TBF_PTAB: u16 = 3;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_PRATE64: u16 = 5;
const TCA_TBF_BURST: u16 = 6;
const TCA_TBF_PBURST: u16 = 7;

/// `TC_LINKLAYER_ETHERNET`: with it set the kernel computes transmit times itself and
/// ignores the rate table (which we still send, for kernels before 3.8 and to stay
/// byte-identical with `tc`).
const LINKLAYER_ETHERNET: u8 = 1;
/// `tc` sizes the rate table for an MTU of 2047 unless told otherwise: 256 cells of 8 bytes.
pub(crate) const CELL_LOG: u8 = 3;

/// A token bucket filter: `tc qdisc ... tbf rate RATE burst BURST limit LIMIT
/// [peakrate PEAK mtu MINBURST]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tbf {
    /// Sustained rate, bytes per second (`rate`; `tc` takes bits, `1mbit` = 125000 here).
    pub rate: u64,
    /// Bucket size, bytes (`burst`/`buffer`): what may leave at line rate at once.
    pub burst: u32,
    /// Bytes that may wait for tokens before packets are dropped (`limit`).
    pub limit: u32,
    /// The second bucket, if any: `peakrate PEAK mtu MINBURST`.
    pub peak: Option<Peak>,
}

/// tbf's peak-rate bucket: how fast the first bucket may drain (`peakrate`, bytes per
/// second) and the size of this bucket (`mtu`/`minburst`, bytes). The kernel refuses a
/// peak rate at or below the rate, and a peak rate without a bucket size (`EINVAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peak {
    /// Bytes per second (`peakrate`).
    pub rate: u64,
    /// Bucket size, bytes (`mtu`, `minburst`): the largest packet that may pass.
    pub minburst: u32,
}

impl Tbf {
    /// The payload of `TCA_OPTIONS`: `TCA_TBF_PARMS`, `TCA_TBF_BURST`, `TCA_TBF_RATE64`
    /// (rates of 2^32 bytes/s and more), `TCA_TBF_RTAB`, then with a peak rate
    /// `TCA_TBF_PRATE64`, `TCA_TBF_PBURST`, `TCA_TBF_PTAB`, in `tc`'s order.
    pub fn options(&self) -> Vec<u8> {
        // The legacy 32-bit rates saturate; the kernel then reads TCA_TBF_(P)RATE64.
        let rate32 = u32::try_from(self.rate).unwrap_or(u32::MAX);
        // `tc` sizes both tables for the `mtu` given (2047 without one), so a large
        // minburst coarsens the rate table too.
        let cell_log = cell_log(self.peak.map_or(0, |p| p.minburst));
        let mut qopt = Vec::with_capacity(36);
        qopt.extend_from_slice(&ratespec(rate32, cell_log));
        let (peak32, mtu) = match self.peak {
            Some(p) => {
                let peak32 = u32::try_from(p.rate).unwrap_or(u32::MAX);
                qopt.extend_from_slice(&ratespec(peak32, cell_log));
                (peak32, xmittime(peak32, p.minburst))
            }
            None => {
                qopt.extend_from_slice(&[0; 12]); // peakrate: none
                (0, 0)
            }
        };
        qopt.extend_from_slice(&nla::u32s(&[self.limit, xmittime(rate32, self.burst), mtu]));

        let mut out = Vec::with_capacity(36 + 8 + 12 + 2 * 1028 + 28);
        nla::push(&mut out, TCA_TBF_PARMS, &qopt);
        // With TCA_TBF_BURST the kernel takes the bucket in bytes and derives the time from
        // the 64-bit rate, so the tick-rounded `buffer` above does not matter on new kernels.
        nla::push(&mut out, TCA_TBF_BURST, &self.burst.to_ne_bytes());
        if self.rate > u64::from(u32::MAX) {
            nla::push(&mut out, TCA_TBF_RATE64, &self.rate.to_ne_bytes());
        }
        nla::push(&mut out, TCA_TBF_RTAB, &rtab(rate32, cell_log));
        if let Some(p) = self.peak {
            if p.rate > u64::from(u32::MAX) {
                nla::push(&mut out, TCA_TBF_PRATE64, &p.rate.to_ne_bytes());
            }
            // Likewise TCA_TBF_PBURST gives the peak bucket in bytes, `mtu` above in ticks.
            nla::push(&mut out, TCA_TBF_PBURST, &p.minburst.to_ne_bytes());
            nla::push(&mut out, TCA_TBF_PTAB, &rtab(peak32, cell_log));
        }
        out
    }
}

impl Tbf {
    /// Compares a tbf qdisc's options as the kernel dumps them (`TCA_TBF_PARMS` with the
    /// rate and limit, `TCA_TBF_RATE64` for rates of 2^32 bytes/s and more) with `self`:
    /// `Ok(summary)` when rate and limit are what was asked, `Err(what differs)`.
    pub fn check_dump(&self, dumped: &[u8]) -> Result<String, String> {
        let attrs = nla::parse(dumped);
        let get = |k| attrs.iter().find(|(t, _)| *t == k).map(|(_, v)| *v);
        let u32_at = |b: &[u8], at: usize| {
            b.get(at..at + 4)
                .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
        };
        let parms = get(TCA_TBF_PARMS).ok_or("tbf options without TCA_TBF_PARMS")?;
        // struct tc_tbf_qopt: rate (tc_ratespec, its `rate` at byte 8), peakrate (12
        // bytes), limit, buffer, mtu.
        let rate32 = u32_at(parms, 8).ok_or("short TCA_TBF_PARMS")?;
        let limit = u32_at(parms, 24).ok_or("short TCA_TBF_PARMS")?;
        let rate = match get(TCA_TBF_RATE64).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => u64::from_ne_bytes(b),
            None => u64::from(rate32),
        };
        let summary = format!("tbf rate {}bit/s limit {limit}b", rate * 8);
        if rate != self.rate || limit != self.limit {
            return Err(format!(
                "{summary}, asked rate {}bit/s limit {}b",
                self.rate * 8,
                self.limit
            ));
        }
        Ok(summary)
    }
}

/// The cell size (log2) of `tc_calc_rtable` for packets up to `mtu` bytes (2047 when 0):
/// the smallest that fits them in 256 cells.
fn cell_log(mtu: u32) -> u8 {
    let mtu = if mtu == 0 { 2047 } else { mtu };
    let mut log = 0;
    while (mtu >> log) > 255 {
        log += 1;
    }
    log
}

/// A rate table: the ticks to send each of 256 cells' worth of bytes.
fn rtab(rate: u32, cell_log: u8) -> Vec<u8> {
    let cells: Vec<u32> = (0..256u32)
        .map(|i| xmittime(rate, (i + 1) << cell_log))
        .collect();
    nla::u32s(&cells)
}

/// `struct tc_ratespec { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align; u16 mpu;
/// u32 rate; }` as `tc_calc_rtable` fills it.
pub(crate) fn ratespec(rate: u32, cell_log: u8) -> [u8; 12] {
    let mut r = [0u8; 12];
    r[0] = cell_log;
    r[1] = LINKLAYER_ETHERNET;
    r[4..6].copy_from_slice(&(-1i16).to_ne_bytes()); // cell_align
    r[8..12].copy_from_slice(&rate.to_ne_bytes());
    r
}

/// Ticks to send `size` bytes at `rate` bytes/s (iproute2's `tc_calc_xmittime`).
pub(crate) fn xmittime(rate: u32, size: u32) -> u32 {
    if rate == 0 {
        return u32::MAX;
    }
    nla::us_to_ticks(1_000_000.0 * (f64::from(size) / f64::from(rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_of_the_asked_tbf_checks_and_another_names_the_difference() {
        let t = Tbf {
            rate: 125_000,
            burst: 10_000,
            limit: 20_000,
            peak: None,
        };
        assert_eq!(
            t.check_dump(&t.options()).unwrap(),
            "tbf rate 1000000bit/s limit 20000b"
        );
        let fast = Tbf { rate: 1 << 33, ..t };
        let e = t.check_dump(&fast.options()).unwrap_err();
        assert!(
            e.starts_with(&format!("tbf rate {}bit/s", (1u64 << 33) * 8)),
            "{e}"
        );
        assert!(t.check_dump(&[]).is_err());
    }
    use crate::netlink::nla::hex;

    /// The TCA_OPTIONS payload inside a captured `tc` request: after tcmsg (20 bytes),
    /// TCA_KIND "tbf" (8 bytes) and the TCA_OPTIONS header (4 bytes).
    fn captured_options(name: &str) -> Vec<u8> {
        let all = hex(match name {
            "tbf_1mbit" => include_str!("testdata/tbf_1mbit.hex"),
            "tbf_3300kbit" => include_str!("testdata/tbf_3300kbit.hex"),
            "tbf_40gbit" => include_str!("testdata/tbf_40gbit.hex"),
            "tbf_peak_1mbit" => include_str!("testdata/tbf_peak_1mbit.hex"),
            "tbf_peak_50gbit" => include_str!("testdata/tbf_peak_50gbit.hex"),
            _ => unreachable!(),
        });
        all[32..].to_vec()
    }

    #[test]
    fn one_mbit_matches_tc_byte_for_byte() {
        // tc ... tbf rate 1mbit burst 32kb limit 64kb
        let t = Tbf {
            rate: 125_000,
            burst: 32 * 1024,
            limit: 64 * 1024,
            peak: None,
        };
        assert_eq!(t.options(), captured_options("tbf_1mbit"));
    }

    #[test]
    fn an_odd_rate_rounds_the_rate_table_like_tc() {
        // tc ... tbf rate 3300kbit burst 10000 limit 123456: 8 bytes take 19.39 us, which
        // tc truncates to 19 us before scaling to ticks.
        let t = Tbf {
            rate: 412_500,
            burst: 10_000,
            limit: 123_456,
            peak: None,
        };
        assert_eq!(t.options(), captured_options("tbf_3300kbit"));
    }

    #[test]
    fn rates_above_four_gigabytes_carry_rate64() {
        // tc ... tbf rate 40gbit burst 1mb limit 2mb
        let t = Tbf {
            rate: 5_000_000_000,
            burst: 1 << 20,
            limit: 2 << 20,
            peak: None,
        };
        let opts = t.options();
        assert_eq!(opts, captured_options("tbf_40gbit"));
        // PARMS (40) + BURST (8), then RATE64 holding the full rate.
        assert_eq!(&opts[48..52], &[12, 0, 4, 0]);
        assert_eq!(
            u64::from_ne_bytes(opts[52..60].try_into().unwrap()),
            5_000_000_000
        );
    }

    #[test]
    fn a_peak_rate_matches_tc_byte_for_byte() {
        // tc ... tbf rate 800kbit burst 10000 limit 100 peakrate 1mbit mtu 1500
        let t = Tbf {
            rate: 100_000,
            burst: 10_000,
            limit: 100,
            peak: Some(Peak {
                rate: 125_000,
                minburst: 1500,
            }),
        };
        assert_eq!(t.options(), captured_options("tbf_peak_1mbit"));
    }

    #[test]
    fn a_large_minburst_coarsens_both_tables_and_a_fast_peak_carries_prate64() {
        // tc ... tbf rate 40gbit burst 1mb limit 2mb peakrate 50gbit mtu 1000000
        let t = Tbf {
            rate: 5_000_000_000,
            burst: 1 << 20,
            limit: 2 << 20,
            peak: Some(Peak {
                rate: 6_250_000_000,
                minburst: 1_000_000,
            }),
        };
        assert_eq!(t.options(), captured_options("tbf_peak_50gbit"));
        assert_eq!(
            (cell_log(0), cell_log(1500), cell_log(1_000_000)),
            (3, 3, 12)
        );
    }
}
