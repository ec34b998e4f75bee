//! `netem` options, encoded as iproute2's `tc/q_netem.c` does, following
//! `struct tc_netem_qopt` and the `TCA_NETEM_*` attributes in the kernel's
//! `include/uapi/linux/pkt_sched.h`.
//!
//! netem's `TCA_OPTIONS` is not a plain nest: it starts with the fixed `tc_netem_qopt` and
//! the attributes follow it (the kernel parses it with `nla_parse_nested_compat`).

use super::nla;

const TCA_NETEM_CORR: u16 = 1;
const TCA_NETEM_REORDER: u16 = 3;
const TCA_NETEM_CORRUPT: u16 = 4;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_RATE64: u16 = 8;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;

/// netem's default queue length in packets (`tc`'s default `limit`).
pub const DEFAULT_LIMIT: u32 = 1000;

/// A network emulator: `tc qdisc ... netem delay L J C loss P C duplicate P C corrupt P C
/// reorder P C gap G rate R limit N`. Probabilities are fractions in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Netem {
    /// Added delay, ns (`delay L`).
    pub latency_ns: u64,
    /// Delay variation, ns (`delay L J`).
    pub jitter_ns: u64,
    /// Delay correlation (`delay L J C`).
    pub delay_corr: f64,
    /// Loss probability (`loss P`).
    pub loss: f64,
    /// Loss correlation (`loss P C`).
    pub loss_corr: f64,
    /// Duplicate probability (`duplicate P`).
    pub duplicate: f64,
    /// Duplicate correlation (`duplicate P C`).
    pub duplicate_corr: f64,
    /// Corrupt probability (`corrupt P`).
    pub corrupt: f64,
    /// Corrupt correlation (`corrupt P C`).
    pub corrupt_corr: f64,
    /// Reorder probability (`reorder P`).
    pub reorder: f64,
    /// Reorder correlation (`reorder P C`).
    pub reorder_corr: f64,
    /// Reorder gap (`gap G`); 0 with a reorder probability means 1, as in `tc`.
    pub gap: u32,
    /// netem's own rate limit, bytes per second (`rate R`); 0 means none. Unlike tbf it
    /// delays each packet by its serialisation time, so it composes with `delay`.
    pub rate_bytes_per_sec: u64,
    /// Queue length, packets (`limit N`); 0 means [`DEFAULT_LIMIT`].
    pub limit: u32,
}

impl Netem {
    /// The payload of `TCA_OPTIONS`: `tc_netem_qopt`, then `TCA_NETEM_CORR`, `_REORDER`,
    /// `_CORRUPT` as `tc` sends them, then `TCA_NETEM_LATENCY64`/`_JITTER64` (kernel 4.15+)
    /// carrying the delay in exact nanoseconds, where the legacy fields hold 64 ns ticks that
    /// saturate at 2^32 (about 275 s). Older kernels ignore the two and use the ticks.
    pub fn options(&self) -> Vec<u8> {
        let p = nla::probability;
        let reorder = p(self.reorder);
        // Without a gap the kernel never reorders (it checks `counter < gap - 1`); tc sets 1.
        let gap = if reorder != 0 && self.gap == 0 {
            1
        } else {
            self.gap
        };
        let limit = if self.limit == 0 {
            DEFAULT_LIMIT
        } else {
            self.limit
        };
        let ticks = |ns: u64| nla::us_to_ticks(ns as f64 / 1000.0);
        let mut out = nla::u32s(&[
            ticks(self.latency_ns),
            limit,
            p(self.loss),
            gap,
            p(self.duplicate),
            ticks(self.jitter_ns),
        ]);
        let corr = [
            p(self.delay_corr),
            p(self.loss_corr),
            p(self.duplicate_corr),
        ];
        // tc sends the correlation struct whenever a correlation was written, and for every
        // reorder (whose own correlation lives in TCA_NETEM_REORDER).
        if corr.iter().any(|&c| c != 0) || reorder != 0 {
            nla::push(&mut out, TCA_NETEM_CORR, &nla::u32s(&corr));
        }
        if reorder != 0 {
            nla::push(
                &mut out,
                TCA_NETEM_REORDER,
                &nla::u32s(&[reorder, p(self.reorder_corr)]),
            );
        }
        let corrupt = p(self.corrupt);
        if corrupt != 0 {
            nla::push(
                &mut out,
                TCA_NETEM_CORRUPT,
                &nla::u32s(&[corrupt, p(self.corrupt_corr)]),
            );
        }
        if self.rate_bytes_per_sec != 0 {
            // `struct tc_netem_rate` holds a u32 rate; like tc, a faster rate goes in
            // TCA_NETEM_RATE64 first and the legacy field saturates. Overheads stay 0.
            let legacy = match u32::try_from(self.rate_bytes_per_sec) {
                Ok(r) => r,
                Err(_) => {
                    nla::push(
                        &mut out,
                        TCA_NETEM_RATE64,
                        &self.rate_bytes_per_sec.to_ne_bytes(),
                    );
                    u32::MAX
                }
            };
            nla::push(&mut out, TCA_NETEM_RATE, &nla::u32s(&[legacy, 0, 0, 0]));
        }
        if self.latency_ns != 0 {
            let ns = i64::try_from(self.latency_ns).unwrap_or(i64::MAX);
            nla::push(&mut out, TCA_NETEM_LATENCY64, &ns.to_ne_bytes());
        }
        if self.jitter_ns != 0 {
            let ns = i64::try_from(self.jitter_ns).unwrap_or(i64::MAX);
            nla::push(&mut out, TCA_NETEM_JITTER64, &ns.to_ne_bytes());
        }
        out
    }
}

impl Netem {
    /// Compares a netem qdisc's options as the kernel dumps them (`tc_netem_qopt`, then
    /// `TCA_NETEM_*`) with `self`: delay, loss, duplicate, corrupt, reorder and rate.
    /// `Ok(summary)` when all are what was asked, `Err(what differs)`.
    pub fn check_dump(&self, dumped: &[u8]) -> Result<String, String> {
        let p = nla::probability;
        let u32_at = |b: &[u8], at: usize| {
            b.get(at..at + 4)
                .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
        };
        let short = || "short netem options".to_string();
        // tc_netem_qopt: latency (ticks), limit, loss, gap, duplicate, jitter.
        let ticks = u32_at(dumped, 0).ok_or_else(short)?;
        let loss = u32_at(dumped, 8).ok_or_else(short)?;
        let duplicate = u32_at(dumped, 16).ok_or_else(short)?;
        let attrs = nla::parse(dumped.get(24..).unwrap_or(&[]));
        let get = |k| attrs.iter().find(|(t, _)| *t == k).map(|(_, v)| *v);
        let first = |k| get(k).and_then(|b| u32_at(b, 0)).unwrap_or(0);
        let latency_ns = match get(TCA_NETEM_LATENCY64).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => u64::from_ne_bytes(b),
            None => u64::from(ticks) * nla::NS_PER_TICK,
        };
        let rate = match get(TCA_NETEM_RATE64).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => u64::from_ne_bytes(b),
            None => u64::from(first(TCA_NETEM_RATE)),
        };
        let pct = |v: u32| f64::from(v) / f64::from(u32::MAX) * 100.0;
        let summary = format!(
            "netem delay {}us loss {:.2}% duplicate {:.2}% corrupt {:.2}% reorder {:.2}% rate {}bit/s",
            latency_ns / 1000,
            pct(loss),
            pct(duplicate),
            pct(first(TCA_NETEM_CORRUPT)),
            pct(first(TCA_NETEM_REORDER)),
            rate * 8
        );
        // Without LATENCY64 (kernels before 4.15) the delay went through 64 ns ticks.
        let latency_ok = latency_ns.abs_diff(self.latency_ns) < nla::NS_PER_TICK;
        let same = latency_ok
            && loss == p(self.loss)
            && duplicate == p(self.duplicate)
            && first(TCA_NETEM_CORRUPT) == p(self.corrupt)
            && first(TCA_NETEM_REORDER) == p(self.reorder)
            && rate == self.rate_bytes_per_sec;
        if same {
            Ok(summary)
        } else {
            Err(format!(
                "{summary}, asked delay {}us loss {:.2}% duplicate {:.2}% corrupt {:.2}% reorder {:.2}% rate {}bit/s",
                self.latency_ns / 1000,
                self.loss * 100.0,
                self.duplicate * 100.0,
                self.corrupt * 100.0,
                self.reorder * 100.0,
                self.rate_bytes_per_sec * 8
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_of_the_asked_options_checks_and_another_names_the_difference() {
        let n = Netem {
            latency_ns: 10_000_000,
            loss: 0.25,
            corrupt: 0.01,
            rate_bytes_per_sec: 125_000,
            ..Netem::default()
        };
        let ok = n.check_dump(&n.options()).unwrap();
        assert!(ok.starts_with("netem delay 10000us loss 25.00%"), "{ok}");
        let other = Netem { loss: 0.5, ..n };
        let e = n.check_dump(&other.options()).unwrap_err();
        assert!(
            e.contains("loss 50.00%") && e.contains("asked delay 10000us loss 25.00%"),
            "{e}"
        );
        assert!(n.check_dump(&[1, 2]).is_err());
    }
    use crate::netlink::nla::hex;

    /// The TCA_OPTIONS payload of a captured `tc` request: after tcmsg (20 bytes), TCA_KIND
    /// "netem" (12 bytes) and the TCA_OPTIONS header (4 bytes).
    fn captured(hexdump: &str) -> Vec<u8> {
        hex(hexdump)[36..].to_vec()
    }

    /// What our encoder adds after tc's bytes: the delay in ns as LATENCY64 / JITTER64.
    fn tail64(latency_ns: i64, jitter_ns: i64) -> Vec<u8> {
        let mut t = Vec::new();
        if latency_ns != 0 {
            t.extend_from_slice(&[12, 0, 10, 0]);
            t.extend_from_slice(&latency_ns.to_ne_bytes());
        }
        if jitter_ns != 0 {
            t.extend_from_slice(&[12, 0, 11, 0]);
            t.extend_from_slice(&jitter_ns.to_ne_bytes());
        }
        t
    }

    fn with_tail(mut tc: Vec<u8>, latency_ns: i64, jitter_ns: i64) -> Vec<u8> {
        tc.extend(tail64(latency_ns, jitter_ns));
        tc
    }

    #[test]
    fn every_option_matches_tc() {
        // netem delay 10ms 2ms 25% loss 5% 10% duplicate 1% corrupt 2% reorder 3% 50% gap 5
        let n = Netem {
            latency_ns: 10_000_000,
            jitter_ns: 2_000_000,
            delay_corr: 0.25,
            loss: 0.05,
            loss_corr: 0.10,
            duplicate: 0.01,
            corrupt: 0.02,
            reorder: 0.03,
            reorder_corr: 0.5,
            gap: 5,
            ..Netem::default()
        };
        let tc = captured(include_str!("testdata/netem_all.hex"));
        assert_eq!(n.options(), with_tail(tc, 10_000_000, 2_000_000));
    }

    #[test]
    fn a_plain_delay_is_the_bare_qopt() {
        let n = Netem {
            latency_ns: 10_000_000,
            ..Netem::default()
        };
        let tc = captured(include_str!("testdata/netem_delay.hex"));
        assert_eq!(tc.len(), 24, "tc sends only tc_netem_qopt");
        assert_eq!(n.options(), with_tail(tc, 10_000_000, 0));
    }

    #[test]
    fn loss_alone_has_no_delay_attributes() {
        let n = Netem {
            loss: 0.5,
            ..Netem::default()
        };
        assert_eq!(
            n.options(),
            captured(include_str!("testdata/netem_loss.hex"))
        );
    }

    #[test]
    fn odd_values_round_like_tc() {
        // netem delay 1234567us 333us loss 33.3% 12.5% duplicate 0.1% 99.9%
        let n = Netem {
            latency_ns: 1_234_567_000,
            jitter_ns: 333_000,
            loss: 0.333,
            loss_corr: 0.125,
            duplicate: 0.001,
            duplicate_corr: 0.999,
            ..Netem::default()
        };
        let tc = captured(include_str!("testdata/netem_odd.hex"));
        assert_eq!(n.options(), with_tail(tc, 1_234_567_000, 333_000));
    }

    #[test]
    fn long_delays_keep_ticks_and_exact_ns() {
        // netem delay 100s 1s: 1_562_500_000 ticks, still inside u32.
        let n = Netem {
            latency_ns: 100_000_000_000,
            jitter_ns: 1_000_000_000,
            ..Netem::default()
        };
        let tc = captured(include_str!("testdata/netem_long.hex"));
        assert_eq!(n.options(), with_tail(tc, 100_000_000_000, 1_000_000_000));
    }

    #[test]
    fn reorder_without_gap_gets_gap_one_like_tc() {
        // netem delay 10ms reorder 25% 50%
        let n = Netem {
            latency_ns: 10_000_000,
            reorder: 0.25,
            reorder_corr: 0.5,
            ..Netem::default()
        };
        let tc = captured(include_str!("testdata/netem_reorder.hex"));
        assert_eq!(n.options(), with_tail(tc, 10_000_000, 0));
    }

    #[test]
    fn delay_loss_duplicate_corrupt_and_rate_in_one_qdisc_match_tc() {
        // netem delay 10ms loss 20% duplicate 1% corrupt 2% rate 1mbit
        let n = Netem {
            latency_ns: 10_000_000,
            loss: 0.20,
            duplicate: 0.01,
            corrupt: 0.02,
            rate_bytes_per_sec: 125_000,
            ..Netem::default()
        };
        let tc = captured(include_str!("testdata/netem_combined.hex"));
        assert_eq!(n.options(), with_tail(tc, 10_000_000, 0));
    }

    #[test]
    fn rates_beyond_u32_bytes_go_in_rate64_like_tc() {
        // netem rate 40gbit: 5e9 bytes/s does not fit tc_netem_rate's u32.
        let n = Netem {
            rate_bytes_per_sec: 5_000_000_000,
            ..Netem::default()
        };
        assert_eq!(
            n.options(),
            captured(include_str!("testdata/netem_rate64.hex"))
        );
    }

    #[test]
    fn delays_beyond_u32_ticks_saturate_the_legacy_field() {
        let n = Netem {
            latency_ns: 1_000_000_000_000,
            ..Netem::default()
        };
        let o = n.options();
        assert_eq!(&o[0..4], &u32::MAX.to_ne_bytes());
        assert_eq!(&o[24..], tail64(1_000_000_000_000, 0).as_slice());
    }
}
