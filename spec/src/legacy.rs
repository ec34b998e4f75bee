//! Reading JSON that older faultline versions wrote (agent journals, stored requests).
//!
//! Until rates were read as `tc` reads them, faultline printed a rate as `1mbps` meaning one
//! megabit per second; `tc` and Chaos Mesh read `1mbps` as one megabyte per second. Rates
//! are now printed in bits only (`1mbit`, the same under both readings), so a `bps` rate in
//! JSON that faultline itself wrote can only be the old form, and its meaning was bits:
//! [`upgrade_rates`] rewrites it to the bit form before the JSON is read. Text people
//! write (specs, API bodies) is never passed through here: there `1mbps` is tc's.

use serde_json::Value;

use crate::units::BitRate;

/// The fault kinds whose `rate` and `peakrate` fields are [`BitRate`]s.
const RATE_KINDS: [&str; 2] = ["networkBandwidth", "networkNetem"];
/// The rate fields of those kinds.
const RATE_FIELDS: [&str; 2] = ["rate", "peakrate"];

/// The rate an old faultline meant by `s`, if `s` is one of the forms it printed
/// (`{n}gbps`, `{n}mbps`, `{n}kbps`, `{n}bps`: bits per second), in today's form.
pub fn old_rate(s: &str) -> Option<BitRate> {
    let digits = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(digits);
    let mult: u64 = match unit {
        "bps" => 1,
        "kbps" => 1_000,
        "mbps" => 1_000_000,
        "gbps" => 1_000_000_000,
        "tbps" => 1_000_000_000_000,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mult).map(BitRate)
}

/// Rewrites, in place, every old-form rate of a `networkBandwidth` or `networkNetem` object
/// anywhere in `v` to the bit form that means the same; returns how many it rewrote.
pub fn upgrade_rates(v: &mut Value) -> usize {
    let mut n = 0;
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if RATE_KINDS.contains(&key.as_str())
                    && let Value::Object(fault) = child
                {
                    for field in RATE_FIELDS {
                        if let Some(Value::String(s)) = fault.get_mut(field)
                            && let Some(rate) = old_rate(s)
                        {
                            *s = rate.to_string();
                            n += 1;
                        }
                    }
                }
                n += upgrade_rates(child);
            }
        }
        Value::Array(items) => n += items.iter_mut().map(upgrade_rates).sum::<usize>(),
        _ => {}
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeFault;

    #[test]
    fn old_rates_keep_their_meaning() {
        // What the previous version wrote to its journal for `rate: 1mbps` (1 Mbit/s then).
        let mut v: Value = serde_json::from_str(
            r#"{"op":"applying","record":{"kind":{"networkBandwidth":{"rate":"1mbps","limit":"20KB","buffer":"10KB","peakrate":"2500kbps","minburst":"1500B"}}},
                "others":[{"networkNetem":{"rate":"64kbps","latency":"1ms"}},{"rate":"1mbps"}]}"#,
        )
        .unwrap();
        assert_eq!(upgrade_rates(&mut v), 3);
        let kind = &v["record"]["kind"];
        assert_eq!(kind["networkBandwidth"]["rate"], "1mbit");
        assert_eq!(kind["networkBandwidth"]["peakrate"], "2500kbit");
        assert_eq!(v["others"][0]["networkNetem"]["rate"], "64kbit");
        assert_eq!(
            v["others"][1]["rate"], "1mbps",
            "only fault kinds' rates are touched"
        );
        let f: NodeFault = serde_json::from_value(kind.clone()).unwrap();
        let NodeFault::NetworkBandwidth(b) = f else {
            panic!("{f:?}")
        };
        assert_eq!(b.rate, BitRate(1_000_000));
        assert_eq!(b.peakrate, Some(BitRate(2_500_000)));
    }

    #[test]
    fn todays_forms_are_left_alone() {
        let mut v: Value = serde_json::from_str(r#"{"networkNetem":{"rate":"8mbit"}}"#).unwrap();
        assert_eq!(upgrade_rates(&mut v), 0);
        assert_eq!(old_rate("8mbit"), None);
        assert_eq!(
            old_rate("1.5mbps"),
            None,
            "old versions printed whole numbers only"
        );
        assert_eq!(old_rate("1mbps"), Some(BitRate(1_000_000)));
    }
}
