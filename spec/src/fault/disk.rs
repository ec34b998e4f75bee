//! The values the disk kinds (`diskFill`, `ioThrottle`) take and the checks across their
//! fields: an absolute path as the target sees it, a block device number (`8:0`), the
//! fill's safety margin.
//!
//! Here rather than in `values.rs` so that a disk kind's values read in one place;
//! `kinds.rs` declares the kinds with these readers, and holds their checks across fields.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decode::cx::Cx;
use crate::decode::tree::Node;
use crate::decode::value::Read;
use crate::units::UnitError;

/// The fullest a `diskFill` may leave a filesystem, in percent of its size as `df` counts
/// it (used + available): the last 1% stays free for the node (the agent's own journal,
/// the kubelet, logs), so a fill never takes a filesystem to 100%. A `size` that would go
/// past it is refused too.
pub const MAX_FILL: f64 = 99.0;

/// A path inside the target's mount namespace: absolute, no `..`, no NUL, at most 4096
/// bytes (`PATH_MAX`).
pub struct AbsPath;

impl Read for AbsPath {
    type Value = String;
    fn describe() -> String {
        "absolute path".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
        let s = cx.string(node, path)?;
        let why = if !s.starts_with('/') {
            Some("must be an absolute path (start with `/`), as the target sees it")
        } else if s.split('/').any(|c| c == "..") {
            Some("must not contain `..`: write the path the target sees, without going up")
        } else if s.contains('\0') {
            Some("must not contain a NUL byte")
        } else if s.len() > 4096 {
            Some("is longer than PATH_MAX (4096 bytes)")
        } else {
            None
        };
        if let Some(why) = why {
            cx.err(path, node.pos, format!("`{s}` {why}"));
            return None;
        }
        Some(s)
    }
}

/// A block device's number, `MAJOR:MINOR` as `lsblk` and the cgroup files write it
/// (`8:0` is the first SCSI/SATA disk, `253:0` the first virtio one, `7:0` /dev/loop0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceNumber {
    /// The major number (the driver).
    pub major: u32,
    /// The minor number (the device of that driver).
    pub minor: u32,
}

impl FromStr for DeviceNumber {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || {
            UnitError(format!(
                "`{t}` is not a device number; write it `MAJOR:MINOR` like `8:0` (see `lsblk`)"
            ))
        };
        let (major, minor) = t.split_once(':').ok_or_else(bad)?;
        let num = |p: &str| -> Result<u32, UnitError> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        // The kernel's dev_t holds a 12-bit major and a 20-bit minor.
        let (major, minor) = (num(major)?, num(minor)?);
        if major >= 1 << 12 || minor >= 1 << 20 {
            return Err(UnitError(format!(
                "`{t}` is out of range: the kernel's majors go to 4095, minors to 1048575"
            )));
        }
        Ok(DeviceNumber { major, minor })
    }
}

impl fmt::Display for DeviceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

impl Serialize for DeviceNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A `MAJOR:MINOR` device number.
pub struct DevNum;

impl Read for DevNum {
    type Value = DeviceNumber;
    fn describe() -> String {
        "device number".into()
    }

    fn read(cx: &mut Cx, node: &Node, path: &str) -> Option<DeviceNumber> {
        // `8:0` in YAML 1.1 could read as a sexagesimal number; the tree keeps it as written.
        cx.parsed(node, path, "a device number `MAJOR:MINOR` like `8:0`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_parse_and_print_as_the_kernel_writes_them() {
        let d: DeviceNumber = "8:0".parse().unwrap();
        assert_eq!(d, DeviceNumber { major: 8, minor: 0 });
        assert_eq!(d.to_string(), "8:0");
        assert_eq!(
            "253:16".parse::<DeviceNumber>().unwrap().to_string(),
            "253:16"
        );
        for bad in ["8", "8:", ":0", "a:b", "8:0:1", "-1:0", "8 :0"] {
            assert!(bad.parse::<DeviceNumber>().is_err(), "{bad}");
        }
        assert!(
            "4096:0"
                .parse::<DeviceNumber>()
                .unwrap_err()
                .0
                .contains("out of range")
        );
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, r#""8:0""#);
        assert_eq!(serde_json::from_str::<DeviceNumber>(&json).unwrap(), d);
    }
}
