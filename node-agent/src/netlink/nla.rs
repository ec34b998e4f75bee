//! Hand encoding of the attributes netlink-packet-route has no types for (tbf and netem
//! `TCA_OPTIONS`). Native byte order, 4-byte alignment, as `include/uapi/linux/netlink.h`
//! defines `struct nlattr`.

/// Appends one attribute (`nla_len`, `nla_type`, payload, padding to 4 bytes).
pub(crate) fn push(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    // Attribute lengths are u16; every payload built here is far below that (the largest,
    // a tbf rate table, is 1 KiB).
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

/// Concatenates u32 fields in native order, the layout of the kernel's all-`__u32` structs.
pub(crate) fn u32s(fields: &[u32]) -> Vec<u8> {
    fields.iter().flat_map(|f| f.to_ne_bytes()).collect()
}

/// A percentage as the kernel's netem probabilities take it: `round(p / 100 * u32::MAX)`,
/// ties to even like iproute2's `rint()`.
pub(crate) fn probability(fraction: f64) -> u32 {
    (fraction.clamp(0.0, 1.0) * f64::from(u32::MAX)).round_ties_even() as u32
}

/// Nanoseconds per psched tick: the kernel's `PSCHED_SHIFT` is 6 (fixed since 2.6.31);
/// `/proc/net/psched` reports it as `t2us=1000 us2t=64`.
pub(crate) const NS_PER_TICK: u64 = 64;

/// Ticks for `us` microseconds the way iproute2's `tc_core_time2tick(unsigned)` computes
/// them: whole microseconds times 15.625, truncated. (`tc` truncates twice; matching it
/// keeps our messages byte-identical to what `tc` sends.)
pub(crate) fn us_to_ticks(us: f64) -> u32 {
    let whole = if us >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        us as u32
    };
    (f64::from(whole) * (1000.0 / NS_PER_TICK as f64)).min(f64::from(u32::MAX)) as u32
}

/// The attributes of a dumped nest, `(type, payload)`, in order; stops at the first
/// malformed one (a short read never panics).
pub(crate) fn parse(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        // The top bits of the type are the nested / byte-order flags.
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((kind, &buf[4..len]));
        buf = buf.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_to_four_bytes() {
        let mut b = Vec::new();
        push(&mut b, 1, b"tbf\0");
        push(&mut b, 1, b"netem\0");
        assert_eq!(
            b,
            hex("0800010074626600" /**/)
                .into_iter()
                .chain(hex("0a0001006e6574656d000000"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn probabilities_round_like_rint() {
        assert_eq!(probability(0.05), 0x0ccc_cccd);
        assert_eq!(probability(0.5), 0x8000_0000);
        assert_eq!(probability(1.0), u32::MAX);
        assert_eq!(probability(0.0), 0);
    }
}
