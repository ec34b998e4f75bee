//! cgroup v2 `io.max` (limits per device: `MAJ:MIN rbps=… wbps=… riops=… wiops=…`, `max`
//! for none) and `io.stat` (bytes and IOs per device).

use std::path::Path;

use super::super::file;
use crate::error::FaultError;
use crate::target::{IoLimits, IoStat};

/// The limits `dir`'s `io.max` holds for `device` (`MAJ:MIN`); no line is no limit.
pub fn limits(dir: &Path, device: &str) -> Result<IoLimits, FaultError> {
    Ok(parse_limits(&file::read(&dir.join("io.max"))?, device))
}

/// Sets the limits of `device` given in `set` (`Some(Some(n))` a limit, `Some(None)` none),
/// leaving the others as they are: one `io.max` line with just those keys.
pub fn set(dir: &Path, device: &str, set: &[(&str, Option<u64>)]) -> Result<(), FaultError> {
    if set.is_empty() {
        return Ok(());
    }
    let mut line = device.to_string();
    for (key, v) in set {
        match v {
            Some(n) => line.push_str(&format!(" {key}={n}")),
            None => line.push_str(&format!(" {key}=max")),
        }
    }
    file::write(&dir.join("io.max"), &line)
}

/// `device`'s counters in `dir`'s `io.stat`; no line is all zero (no IO yet).
pub fn stat(dir: &Path, device: &str) -> Result<IoStat, FaultError> {
    let text = file::read(&dir.join("io.stat"))?;
    let mut s = IoStat::default();
    for (k, v) in keys_of(&text, device) {
        let Ok(n) = v.parse::<u64>() else { continue };
        match k {
            "rbytes" => s.rbytes = n,
            "wbytes" => s.wbytes = n,
            "rios" => s.rios = n,
            "wios" => s.wios = n,
            _ => {}
        }
    }
    Ok(s)
}

/// The `key=value` pairs of `device`'s line.
fn keys_of<'t>(text: &'t str, device: &str) -> Vec<(&'t str, &'t str)> {
    text.lines()
        .find_map(|l| l.strip_prefix(device)?.strip_prefix(' '))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_limits(text: &str, device: &str) -> IoLimits {
    let mut l = IoLimits::default();
    for (k, v) in keys_of(text, device) {
        let n = v.parse::<u64>().ok(); // `max` is no limit
        match k {
            "rbps" => l.rbps = n,
            "wbps" => l.wbps = n,
            "riops" => l.riops = n,
            "wiops" => l.wiops = n,
            _ => {}
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_counters_are_read_per_device() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("io.max"),
            "8:16 rbps=2097152 wbps=max riops=max wiops=120\n8:0 rbps=max wbps=1 riops=max wiops=max\n",
        )
        .unwrap();
        let l = limits(d.path(), "8:16").unwrap();
        assert_eq!(
            l,
            IoLimits {
                rbps: Some(2097152),
                wbps: None,
                riops: None,
                wiops: Some(120)
            }
        );
        assert_eq!(limits(d.path(), "8:1").unwrap(), IoLimits::default());
        assert_eq!(limits(d.path(), "8:0").unwrap().wbps, Some(1));
        std::fs::write(
            d.path().join("io.stat"),
            "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n",
        )
        .unwrap();
        let s = stat(d.path(), "8:16").unwrap();
        assert_eq!(
            (s.rbytes, s.wbytes, s.rios, s.wios),
            (1459200, 314773504, 192, 353)
        );
        assert_eq!(stat(d.path(), "7:0").unwrap(), IoStat::default());
        set(d.path(), "8:16", &[("wbps", Some(5)), ("riops", None)]).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("io.max")).unwrap(),
            "8:16 wbps=5 riops=max"
        );
    }
}
