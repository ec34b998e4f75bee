//! Typed values for spec fields: durations, byte sizes, percentages, bit rates.
//!
//! Each type parses from the human form users write (`1m30s`, `256MB`, `50%`, `1mbps`) and
//! serialises back to a canonical string, so `validate --explain` prints what was meant.
//! Chaos Mesh compares durations as strings and swallows parse errors; here a value that
//! does not parse never becomes a spec.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value did not parse; the decoder adds the field path and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, UnitError> {
    Err(UnitError(msg.into()))
}

/// A non-negative duration written as Go/Chaos Mesh style units: `500us`, `10ms`, `30s`,
/// `1m30s`, `2h`. A bare `0` is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// Zero length.
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    /// From whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }

    /// The std value.
    pub const fn std(self) -> std::time::Duration {
        self.0
    }
}

/// Splits `s` into its leading number (digits and dots) and what follows it.
fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    s.split_at(end)
}

impl FromStr for Duration {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return err("empty duration; write it like `10ms`, `30s` or `1m30s`");
        }
        if t.starts_with('-') {
            return err(format!(
                "duration `{t}` is negative; durations must be >= 0"
            ));
        }
        if t == "0" {
            return Ok(Duration::ZERO);
        }
        let mut total_ns: u128 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let (num, after) = split_number(rest);
            if num.is_empty() {
                return err(format!(
                    "duration `{t}` is not a number followed by a unit (ns, us, ms, s, m, h)"
                ));
            }
            let value: f64 = num
                .parse()
                .map_err(|_| UnitError(format!("duration `{t}` has a malformed number `{num}`")))?;
            let unit_len = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (unit, next) = after.split_at(unit_len);
            let ns_per_unit: f64 = match unit {
                "ns" => 1.0,
                "us" | "µs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                "" => return err(format!("duration `{t}` needs a unit (ns, us, ms, s, m, h)")),
                other => {
                    return err(format!(
                        "duration `{t}` has unknown unit `{other}`; use ns, us, ms, s, m or h"
                    ));
                }
            };
            let ns = value * ns_per_unit;
            if !ns.is_finite() || ns > 1e18 {
                return err(format!("duration `{t}` is too large"));
            }
            total_ns += ns.round() as u128;
            rest = next;
        }
        let total = u64::try_from(total_ns)
            .map_err(|_| UnitError(format!("duration `{t}` is too large")))?;
        Ok(Duration(std::time::Duration::from_nanos(total)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns.is_multiple_of(1_000_000_000) {
            let mut s = (ns / 1_000_000_000) as u64;
            let h = s / 3600;
            s %= 3600;
            let m = s / 60;
            s %= 60;
            if h > 0 {
                write!(f, "{h}h")?;
            }
            if m > 0 {
                write!(f, "{m}m")?;
            }
            if s > 0 {
                write!(f, "{s}s")?;
            }
            Ok(())
        } else if ns.is_multiple_of(1_000_000) {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1_000) {
            write!(f, "{}us", ns / 1_000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

/// A size in bytes: `256MB` (decimal, as Chaos Mesh and stress-ng read it), `50MiB`,
/// `1GiB`, `4096` (bytes), `512KB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

impl FromStr for Bytes {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (num, unit) = split_number(t);
        if num.is_empty() {
            return err(format!(
                "size `{t}` is not a number followed by a unit (B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
        let value: f64 = num
            .parse()
            .map_err(|_| UnitError(format!("size `{t}` has a malformed number `{num}`")))?;
        let mult: f64 = match unit.trim() {
            "" | "B" | "b" => 1.0,
            "K" | "KB" | "k" | "kB" | "kb" => 1e3,
            "M" | "MB" | "mb" => 1e6,
            "G" | "GB" | "gb" => 1e9,
            "T" | "TB" | "tb" => 1e12,
            "Ki" | "KiB" => 1024.0,
            "Mi" | "MiB" => 1024.0 * 1024.0,
            "Gi" | "GiB" => 1024.0 * 1024.0 * 1024.0,
            "Ti" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            other => {
                return err(format!(
                    "size `{t}` has unknown unit `{other}`; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
                ));
            }
        };
        let bytes = value * mult;
        if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
            return err(format!("size `{t}` is too large"));
        }
        Ok(Bytes(bytes.round() as u64))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Largest unit that divides exactly, so `256MB` and `50MiB` print as written.
        const UNITS: [(u64, &str); 8] = [
            (1 << 40, "TiB"),
            (1_000_000_000_000, "TB"),
            (1 << 30, "GiB"),
            (1_000_000_000, "GB"),
            (1 << 20, "MiB"),
            (1_000_000, "MB"),
            (1 << 10, "KiB"),
            (1_000, "KB"),
        ];
        for (n, u) in UNITS {
            if self.0 >= n && self.0.is_multiple_of(n) {
                return write!(f, "{}{u}", self.0 / n);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// A percentage in 0..=100. Accepts `50`, `50%`, `12.5`, and numbers.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(f64);

// A `Percent` is never NaN (`new` and `FromStr` reject it), so equality is total; this lets
// selectors and scopes that hold one be `Eq`.
impl Eq for Percent {}

impl Percent {
    /// A checked percentage.
    pub fn new(v: f64) -> Result<Self, UnitError> {
        if !(0.0..=100.0).contains(&v) || v.is_nan() {
            return err(format!("{v} is out of range; allowed 0 to 100"));
        }
        Ok(Percent(v))
    }

    /// The value, 0..=100.
    pub const fn value(self) -> f64 {
        self.0
    }

    /// The value as a fraction, 0..=1.
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

impl FromStr for Percent {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let num = t.strip_suffix('%').unwrap_or(t).trim();
        let v: f64 = num.parse().map_err(|_| {
            UnitError(format!(
                "`{t}` is not a percentage; write it like `50` or `50%`"
            ))
        })?;
        Percent::new(v)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A rate, read exactly as `tc` reads it (iproute2 `tc/tc_util.c` `get_rate`), because
/// Chaos Mesh hands its `rate` strings to `tc` unchanged: units are matched ignoring case;
/// `bit`, `kbit`, `mbit`, `gbit`, `tbit` are bits per second (x1000 steps) and `kibit`,
/// `mibit`, `gibit`, `tibit` the 1024 steps; `bps`, `kbps`, `mbps`, `gbps`, `tbps` are
/// BYTES per second (`1mbps` is 8 Mbit/s; `kibps`... the 1024 steps); a bare number is bits
/// per second. Held as bits per second; printed in bits (`8mbit`), a form every faultline
/// version reads the same way (see [`crate::legacy`] for JSON written before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BitRate(pub u64);

/// `tc`'s rate suffixes and bits per second for each (`tc/tc_util.c`), lower case.
const RATE_UNITS: [(&str, f64); 18] = [
    ("bit", 1.0),
    ("kibit", 1024.0),
    ("kbit", 1e3),
    ("mibit", 1024.0 * 1024.0),
    ("mbit", 1e6),
    ("gibit", 1024.0 * 1024.0 * 1024.0),
    ("gbit", 1e9),
    ("tibit", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("tbit", 1e12),
    ("bps", 8.0),
    ("kibps", 8.0 * 1024.0),
    ("kbps", 8e3),
    ("mibps", 8.0 * 1024.0 * 1024.0),
    ("mbps", 8e6),
    ("gibps", 8.0 * 1024.0 * 1024.0 * 1024.0),
    ("gbps", 8e9),
    ("tibps", 8.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("tbps", 8e12),
];

/// The units a rate error lists.
const RATE_UNITS_HELP: &str = "bits per second: bit, kbit, mbit, gbit, tbit (kibit, mibit... \
     for 1024 steps); bytes per second: bps, kbps, mbps, gbps, tbps (kibps, mibps...)";

impl BitRate {
    /// Bytes per second, what the kernel's tbf and netem take; truncated as `tc` does.
    pub const fn bytes_per_sec(self) -> u64 {
        self.0 / 8
    }
}

impl FromStr for BitRate {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (num, unit) = split_number(t);
        let value: f64 = num.parse().map_err(|_| {
            UnitError(format!(
                "rate `{t}` is not a number followed by a unit like `8mbit` or `1mbps`"
            ))
        })?;
        let lower = unit.to_ascii_lowercase();
        let mult = if lower.is_empty() {
            1.0 // tc: a bare number is bits per second
        } else {
            match RATE_UNITS.iter().find(|(u, _)| *u == lower) {
                Some((_, m)) => *m,
                None => {
                    return err(format!(
                        "rate `{t}` has unknown unit `{unit}`; use {RATE_UNITS_HELP}"
                    ));
                }
            }
        };
        let v = value * mult;
        if !v.is_finite() || !(8.0..=1e15).contains(&v) {
            return err(format!(
                "rate `{t}` is out of range; allowed 8bit (1bps, one byte per second) to 1000tbit"
            ));
        }
        Ok(BitRate(v.round() as u64))
    }
}

impl fmt::Display for BitRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bits only, never `bps`: JSON that older versions wrote holds `bps` forms meaning
        // bits, so a `bps` in stored JSON can only be old (see `crate::legacy`).
        for (n, u) in [
            (1_000_000_000_000, "tbit"),
            (1_000_000_000, "gbit"),
            (1_000_000, "mbit"),
            (1_000, "kbit"),
        ] {
            if self.0 >= n && self.0.is_multiple_of(n) {
                return write!(f, "{}{u}", self.0 / n);
            }
        }
        write!(f, "{}bit", self.0)
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                let s = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    other => return Err(serde::de::Error::custom(format!("expected a string, got {other}"))),
                };
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(Duration, Bytes, BitRate);

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::Number(n) => {
                Percent::new(n.as_f64().unwrap_or(f64::NAN)).map_err(serde::de::Error::custom)
            }
            serde_json::Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "expected a percentage, got {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_the_forms_users_write() {
        let ms = |s: &str| s.parse::<Duration>().unwrap().0.as_millis();
        assert_eq!(ms("10ms"), 10);
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("1m30s"), 90_000);
        assert_eq!(ms("1h"), 3_600_000);
        assert_eq!(ms("1.5s"), 1_500);
        assert_eq!(ms("0"), 0);
        assert_eq!("500us".parse::<Duration>().unwrap().0.as_micros(), 500);
    }

    #[test]
    fn bad_durations_say_why() {
        for (input, needle) in [
            ("-5s", "negative"),
            ("10", "needs a unit"),
            ("10 parsecs", "unknown unit"),
            ("", "empty"),
            ("s", "not a number"),
            ("1..2s", "malformed"),
        ] {
            let e = input.parse::<Duration>().unwrap_err().0;
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn duration_display_round_trips() {
        for s in ["10ms", "30s", "1m30s", "2h", "500us", "0s", "1h1m1s", "7ns"] {
            let d: Duration = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
            assert_eq!(d.to_string().parse::<Duration>().unwrap(), d);
        }
    }

    #[test]
    fn sizes_distinguish_decimal_and_binary_units() {
        assert_eq!("256MB".parse::<Bytes>().unwrap().0, 256_000_000);
        assert_eq!("50MiB".parse::<Bytes>().unwrap().0, 50 * 1024 * 1024);
        assert_eq!("1GiB".parse::<Bytes>().unwrap().0, 1 << 30);
        assert_eq!("4096".parse::<Bytes>().unwrap().0, 4096);
        assert!("12 furlongs".parse::<Bytes>().is_err());
        assert_eq!("50MiB".parse::<Bytes>().unwrap().to_string(), "50MiB");
        assert_eq!("256MB".parse::<Bytes>().unwrap().to_string(), "256MB");
    }

    #[test]
    fn percent_is_range_checked() {
        assert_eq!("50%".parse::<Percent>().unwrap().value(), 50.0);
        assert_eq!("12.5".parse::<Percent>().unwrap().fraction(), 0.125);
        assert!("101".parse::<Percent>().unwrap_err().0.contains("0 to 100"));
        assert!("-1".parse::<Percent>().is_err());
    }

    #[test]
    fn rates_read_as_tc_reads_them() {
        let bits = |s: &str| s.parse::<BitRate>().unwrap().0;
        // Every suffix of iproute2's table, in tc's spelling and in lower case.
        for (input, want) in [
            ("1000", 1_000),
            ("8bit", 8),
            ("1kbit", 1_000),
            ("1Kibit", 1_024),
            ("1mbit", 1_000_000),
            ("1Mibit", 1_048_576),
            ("1gbit", 1_000_000_000),
            ("1Gibit", 1 << 30),
            ("1tbit", 1_000_000_000_000),
            ("1Tibit", 1 << 40),
            ("1bps", 8),
            ("1Bps", 8),
            ("1kbps", 8_000),
            ("1KBps", 8_000),
            ("1KiBps", 8_192),
            ("1mbps", 8_000_000),
            ("1MBps", 8_000_000),
            ("1MiBps", 8 << 20),
            ("1gbps", 8_000_000_000),
            ("1GiBps", 8 << 30),
            ("1tbps", 8_000_000_000_000),
            ("1TiBps", 8 << 40),
            ("200kbps", 1_600_000),
            ("2.5mbit", 2_500_000),
            ("1MBIT", 1_000_000),
        ] {
            assert_eq!(bits(input), want, "{input}");
        }
        assert_eq!(
            "1mbps".parse::<BitRate>().unwrap().bytes_per_sec(),
            1_000_000
        );
        assert_eq!("1mbit".parse::<BitRate>().unwrap().bytes_per_sec(), 125_000);
        assert!("fast".parse::<BitRate>().is_err());
        assert!(
            "1bit".parse::<BitRate>().is_err(),
            "below one byte per second"
        );
        let e = "1 furlong".parse::<BitRate>().unwrap_err().0;
        assert!(e.contains("bytes per second: bps"), "{e}");
    }

    #[test]
    fn rates_print_in_bits_and_read_back_the_same() {
        for (input, printed) in [
            ("1mbps", "8mbit"),
            ("10kbit", "10kbit"),
            ("1KiBps", "8192bit"),
            ("100mbps", "800mbit"),
            ("5gbit", "5gbit"),
            ("1tbps", "8tbit"),
            ("1001bit", "1001bit"),
        ] {
            let r: BitRate = input.parse().unwrap();
            assert_eq!(r.to_string(), printed, "{input}");
            assert_eq!(printed.parse::<BitRate>().unwrap(), r, "{printed}");
        }
    }
}
