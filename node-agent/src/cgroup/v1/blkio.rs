//! cgroup v1 `blkio.throttle.*`: one file per limit (`read_bps_device`, `write_bps_device`,
//! `read_iops_device`, `write_iops_device`; `MAJ:MIN value` lines, `0` removes one) and the
//! throttle's counters (`io_service_bytes`, `io_serviced`: `MAJ:MIN Read n` lines).

use std::path::Path;

use super::super::file;
use crate::error::FaultError;
use crate::target::{IoLimits, IoStat};

/// The limit file of an `io.max` key.
fn file_of(key: &str) -> &'static str {
    match key {
        "rbps" => "blkio.throttle.read_bps_device",
        "wbps" => "blkio.throttle.write_bps_device",
        "riops" => "blkio.throttle.read_iops_device",
        _ => "blkio.throttle.write_iops_device",
    }
}

/// The limits `dir` holds for `device` (`MAJ:MIN`); no line is no limit.
pub fn limits(dir: &Path, device: &str) -> Result<IoLimits, FaultError> {
    let read = |key: &str| -> Result<Option<u64>, FaultError> {
        let text = file::read(&dir.join(file_of(key)))?;
        Ok(text.lines().find_map(|l| {
            let v = l.strip_prefix(device)?.strip_prefix(' ')?;
            v.trim().parse::<u64>().ok().filter(|n| *n > 0)
        }))
    };
    Ok(IoLimits {
        rbps: read("rbps")?,
        wbps: read("wbps")?,
        riops: read("riops")?,
        wiops: read("wiops")?,
    })
}

/// Sets the limits of `device` given in `set` (keys as `io.max` names them; `None`
/// removes the limit), one file each.
pub fn set(dir: &Path, device: &str, set: &[(&str, Option<u64>)]) -> Result<(), FaultError> {
    for (key, v) in set {
        file::write(
            &dir.join(file_of(key)),
            &format!("{device} {}", v.unwrap_or(0)),
        )?;
    }
    Ok(())
}

/// `device`'s throttle counters in `dir`.
pub fn stat(dir: &Path, device: &str) -> Result<IoStat, FaultError> {
    let read = |name: &str| -> Result<(u64, u64), FaultError> {
        let text = file::read(&dir.join(name))?;
        let mut rw = (0, 0);
        for l in text.lines() {
            let Some(rest) = l.strip_prefix(device).and_then(|r| r.strip_prefix(' ')) else {
                continue;
            };
            let mut it = rest.split_whitespace();
            let (Some(op), Some(n)) = (it.next(), it.next().and_then(|n| n.parse().ok())) else {
                continue;
            };
            match op {
                "Read" => rw.0 = n,
                "Write" => rw.1 = n,
                _ => {}
            }
        }
        Ok(rw)
    };
    let (rbytes, wbytes) = read("blkio.throttle.io_service_bytes")?;
    let (rios, wios) = read("blkio.throttle.io_serviced")?;
    Ok(IoStat {
        rbytes,
        wbytes,
        rios,
        wios,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_counters_are_read_per_device() {
        let d = tempfile::tempdir().unwrap();
        let w = |f: &str, t: &str| std::fs::write(d.path().join(f), t).unwrap();
        w("blkio.throttle.read_bps_device", "");
        w("blkio.throttle.write_bps_device", "7:0 1048576\n8:0 5\n");
        w("blkio.throttle.read_iops_device", "");
        w("blkio.throttle.write_iops_device", "7:0 50\n");
        w(
            "blkio.throttle.io_service_bytes",
            "7:0 Read 2048\n7:0 Write 3145728\n7:0 Sync 3147776\n7:0 Total 3147776\nTotal 3147776\n",
        );
        w("blkio.throttle.io_serviced", "7:0 Read 1\n7:0 Write 48\n");
        let l = limits(d.path(), "7:0").unwrap();
        assert_eq!(
            l,
            IoLimits {
                wbps: Some(1048576),
                wiops: Some(50),
                ..IoLimits::default()
            }
        );
        assert_eq!(limits(d.path(), "7:1").unwrap(), IoLimits::default());
        let s = stat(d.path(), "7:0").unwrap();
        assert_eq!((s.rbytes, s.wbytes, s.rios, s.wios), (2048, 3145728, 1, 48));
        set(d.path(), "7:0", &[("wbps", None)]).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("blkio.throttle.write_bps_device")).unwrap(),
            "7:0 0"
        );
    }
}
