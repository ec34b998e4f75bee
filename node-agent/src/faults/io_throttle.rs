//! ioThrottle: block IO limits on one disk for the target's cgroup, cgroup v2 `io.max` or
//! v1 `blkio.throttle.*_device`, whichever hierarchy holds the target's IO controller.
//!
//! - The disk: `device` as given, or the filesystem of `path` as the target sees it
//!   (statted in its mount namespace). The kernel throttles whole disks and refuses a
//!   partition (`ENODEV`), so a partition is taken as its disk (`/sys/dev/block/M:m`).
//! - Before the record is journaled, the limits the cgroup had on that disk are read
//!   ([`Prior::IoLimits`]); apply writes only the asked keys and reads them back;
//!   recovery writes back the earlier values of those keys only (`max`, or v1's `0`, when
//!   there was none), so a limit someone else set on another key is left alone.
//! - Observed: the limits read back as asked; the cgroup's IO counters on the disk
//!   (v2 `io.stat`, v1 `blkio.throttle.io_service_bytes`/`io_serviced`) are evidence,
//!   never the condition: a target doing no IO still has the limit in place.

use std::path::{Path, PathBuf};

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::record::{FaultRecord, Recovered};
use crate::cgroup::{v1, v2};
use crate::error::FaultError;
use crate::mntns;
use crate::resolve::is_alive;
use crate::target::{IoLimits, IoStat, Prior};
use faultline_spec::NodeFault;

/// The ioThrottle family.
#[derive(Debug, Default, Clone, Copy)]
pub struct IoThrottle;

/// The asked limits, as `(io.max key, value)` pairs, only those set.
fn asked(rec: &FaultRecord) -> Result<Vec<(&'static str, u64)>, FaultError> {
    let NodeFault::IoThrottle(t) = &rec.kind else {
        return Err(refused(
            rec,
            format!("{} is not an IO throttle", rec.kind.name()),
        ));
    };
    let pairs: Vec<(&'static str, u64)> = [
        ("rbps", t.rbps.map(|b| b.0)),
        ("wbps", t.wbps.map(|b| b.0)),
        ("riops", t.riops.map(u64::from)),
        ("wiops", t.wiops.map(u64::from)),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    if pairs.is_empty() {
        return Err(refused(rec, "no limit is set".into()));
    }
    Ok(pairs)
}

fn refused(rec: &FaultRecord, reason: String) -> FaultError {
    FaultError::Unsupported {
        kind: rec.kind.name(),
        target: rec.target.to_string(),
        reason,
    }
}

/// `key`'s value in `l`.
fn get(l: &IoLimits, key: &str) -> Option<u64> {
    match key {
        "rbps" => l.rbps,
        "wbps" => l.wbps,
        "riops" => l.riops,
        _ => l.wiops,
    }
}

/// The cgroup dir, its version and the disk, as journaled.
fn journaled(rec: &FaultRecord) -> Result<(&Path, bool, &str, &IoLimits), FaultError> {
    match &rec.prior {
        Some(Prior::IoLimits {
            dir,
            v2,
            device,
            before,
        }) => Ok((dir, *v2, device, before)),
        _ => Err(refused(
            rec,
            "the record names no cgroup and device (it was journaled without them)".into(),
        )),
    }
}

fn limits(dir: &Path, is_v2: bool, device: &str) -> Result<IoLimits, FaultError> {
    if is_v2 {
        v2::io::limits(dir, device)
    } else {
        v1::blkio::limits(dir, device)
    }
}

fn set(
    dir: &Path,
    is_v2: bool,
    device: &str,
    kv: &[(&str, Option<u64>)],
) -> Result<(), FaultError> {
    if is_v2 {
        v2::io::set(dir, device, kv)
    } else {
        v1::blkio::set(dir, device, kv)
    }
}

fn stat(dir: &Path, is_v2: bool, device: &str) -> Result<IoStat, FaultError> {
    if is_v2 {
        v2::io::stat(dir, device)
    } else {
        v1::blkio::stat(dir, device)
    }
}

/// Where the limits live, in words: `io.max` or the v1 files.
fn files(is_v2: bool) -> &'static str {
    if is_v2 {
        "io.max"
    } else {
        "blkio.throttle.*_device"
    }
}

/// The limits as the cgroup file writes them: `wbps=1048576 wiops=50`.
fn show(kv: &[(&str, Option<u64>)]) -> String {
    kv.iter()
        .map(|(k, v)| match v {
            Some(n) => format!("{k}={n}"),
            None => format!("{k}=max"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The target's cgroup dir that carries the IO controller: v2 with `io` enabled (and an
/// `io.max`: the root cgroup has none), else v1 `blkio`.
fn io_dir(rec: &FaultRecord) -> Result<(PathBuf, bool), FaultError> {
    let dirs = &rec.resolved.cgroups;
    if let Some(d) = dirs
        .iter()
        .find(|d| d.v2 && d.controllers.iter().any(|c| c == "io") && d.path.join("io.max").exists())
    {
        return Ok((d.path.clone(), true));
    }
    if let Some(d) = dirs
        .iter()
        .find(|d| !d.v2 && d.controllers.iter().any(|c| c == "blkio"))
    {
        return Ok((d.path.clone(), false));
    }
    Err(refused(
        rec,
        "its cgroup has no IO controller: no cgroup v2 dir with `io` enabled in its parent's cgroup.subtree_control (and an io.max), and no v1 blkio hierarchy".into(),
    ))
}

/// The whole disk holding block device `major:minor`: itself, or the disk a partition is
/// on. `None` when the node has no such block device (an overlay's or tmpfs's anonymous
/// device, or a number that names nothing).
pub fn whole_disk(sys_dev_block: &Path, major: u64, minor: u64) -> Option<String> {
    let dev = sys_dev_block.join(format!("{major}:{minor}"));
    if !dev.exists() {
        return None;
    }
    if dev.join("partition").exists() {
        let parent = std::fs::read_to_string(dev.join("../dev")).ok()?;
        return Some(parent.trim().to_string());
    }
    Some(format!("{major}:{minor}"))
}

/// The disk a throttle limits: `device`, or the device of `path`'s filesystem in the
/// target's mount namespace; a partition counts as its disk.
fn disk(rec: &FaultRecord) -> Result<String, FaultError> {
    let NodeFault::IoThrottle(t) = &rec.kind else {
        return Err(refused(
            rec,
            format!("{} is not an IO throttle", rec.kind.name()),
        ));
    };
    let sys = Path::new("/sys/dev/block");
    let (major, minor, what) = match (&t.device, &t.path) {
        (Some(d), _) => (
            u64::from(d.major),
            u64::from(d.minor),
            format!("device {d}"),
        ),
        (None, Some(path)) => {
            let live = rec.resolved.procs.iter().filter(|p| is_alive(p));
            let (ns, _) = mntns::of_pids(live.map(|p| p.pid), &rec.target.to_string())?;
            let p = PathBuf::from(path);
            let st = mntns::run_in(&ns, move || nix::sys::stat::stat(&p))?.map_err(|e| {
                FaultError::Io {
                    action: "stat (in the target's mount namespace)",
                    path: PathBuf::from(path),
                    source: std::io::Error::from(e),
                }
            })?;
            let (ma, mi) = (
                nix::sys::stat::major(st.st_dev),
                nix::sys::stat::minor(st.st_dev),
            );
            (ma, mi, format!("{path} (on device {ma}:{mi})"))
        }
        (None, None) => return Err(refused(rec, "neither `device` nor `path` is set".into())),
    };
    whole_disk(sys, major, minor).ok_or_else(|| {
        refused(
            rec,
            format!("{what} is not a block device on this node (an overlay, tmpfs or network filesystem has none to throttle)"),
        )
    })
}

impl Fault for IoThrottle {
    /// Finds the cgroup and disk and reads the limits there now, for the journal.
    async fn prepare(&self, rec: &FaultRecord) -> Result<Option<Prior>, FaultError> {
        asked(rec)?;
        let (dir, is_v2) = io_dir(rec)?;
        let device = disk(rec)?;
        let before = limits(&dir, is_v2, &device)?;
        Ok(Some(Prior::IoLimits {
            dir,
            v2: is_v2,
            device,
            before,
        }))
    }

    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let want = asked(rec)?;
        let (dir, is_v2, device, before) = journaled(rec)?;
        let kv: Vec<(&str, Option<u64>)> = want.iter().map(|(k, v)| (*k, Some(*v))).collect();
        set(dir, is_v2, device, &kv)?;
        let now = limits(dir, is_v2, device)?;
        if want.iter().any(|(k, v)| get(&now, k) != Some(*v)) {
            // All or nothing: put back what was there before returning the error.
            let back: Vec<(&str, Option<u64>)> =
                want.iter().map(|(k, _)| (*k, get(before, k))).collect();
            let _ = set(dir, is_v2, device, &back);
            let held: Vec<(&str, Option<u64>)> =
                want.iter().map(|(k, _)| (*k, get(&now, k))).collect();
            return Err(refused(
                rec,
                format!(
                    "{} of {} reads back {device} {} after writing {}",
                    files(is_v2),
                    dir.display(),
                    show(&held),
                    show(&kv)
                ),
            ));
        }
        Ok(())
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let Ok((dir, is_v2, device, before)) = journaled(rec) else {
            // Journaled before prepare found a cgroup: nothing was ever written.
            return Ok(Recovered::AlreadyGone);
        };
        if !dir.exists() {
            return Ok(Recovered::TargetGone(format!(
                "cgroup {} no longer exists; its limits went with it",
                dir.display()
            )));
        }
        let want = asked(rec)?;
        let back: Vec<(&str, Option<u64>)> =
            want.iter().map(|(k, _)| (*k, get(before, k))).collect();
        let now = limits(dir, is_v2, device)?;
        if back.iter().all(|(k, v)| get(&now, k) == *v) {
            return Ok(Recovered::AlreadyGone);
        }
        set(dir, is_v2, device, &back)?;
        let after = limits(dir, is_v2, device)?;
        if let Some((k, v)) = back.iter().find(|(k, v)| get(&after, k) != *v) {
            return Err(FaultError::StillPresent {
                what: format!(
                    "{device} {k}={} in {} of {} (restoring {})",
                    get(&after, k).map_or("max".into(), |n| n.to_string()),
                    files(is_v2),
                    dir.display(),
                    show(&[(k, *v)])
                ),
                waited_ms: 0,
            });
        }
        Ok(Recovered::Removed)
    }

    /// The cgroup's bytes read and written on the disk, for the evidence.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        let counter = journaled(rec)
            .ok()
            .and_then(|(dir, is_v2, device, _)| stat(dir, is_v2, device).ok())
            .map(|s| s.rbytes + s.wbytes);
        Baseline::now(counter)
    }

    /// Seen when every asked limit reads back from the cgroup file as asked.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        let (want, (dir, is_v2, device, _)) = match (asked(rec), journaled(rec)) {
            (Ok(w), Ok(j)) => (w, j),
            (Err(e), _) | (_, Err(e)) => return Observation::unseen(e.to_string()),
        };
        let now = match limits(dir, is_v2, device) {
            Ok(n) => n,
            Err(e) => return Observation::unseen(format!("limits unreadable: {e}")),
        };
        let held: Vec<(&str, Option<u64>)> = want.iter().map(|(k, _)| (*k, get(&now, k))).collect();
        let traffic = match stat(dir, is_v2, device) {
            Ok(s) => {
                let since_apply = since
                    .counter
                    .map(|b| {
                        format!(
                            ", {} bytes since apply",
                            (s.rbytes + s.wbytes).saturating_sub(b)
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "; IO counters on {device}: {} bytes read in {} reads, {} written in {} writes{since_apply}",
                    s.rbytes, s.rios, s.wbytes, s.wios
                )
            }
            Err(e) => format!("; IO counters unreadable: {e}"),
        };
        let evidence = format!(
            "{} of {}: {device} {}{traffic}",
            files(is_v2),
            dir.display(),
            show(&held)
        );
        if want.iter().all(|(k, v)| get(&now, k) == Some(*v)) {
            Observation::seen(format!("{evidence} (as asked)"))
        } else {
            let kv: Vec<(&str, Option<u64>)> = want.iter().map(|(k, v)| (*k, Some(*v))).collect();
            Observation::unseen(format!("{evidence}: asked {}", show(&kv)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_throttled_as_its_disk() {
        let d = tempfile::tempdir().unwrap();
        let disk = d.path().join("devices/sda");
        std::fs::create_dir_all(disk.join("sda1")).unwrap();
        std::fs::write(disk.join("dev"), "8:0\n").unwrap();
        std::fs::write(disk.join("sda1/dev"), "8:1\n").unwrap();
        std::fs::write(disk.join("sda1/partition"), "1\n").unwrap();
        let sys = d.path().join("dev-block");
        std::fs::create_dir_all(&sys).unwrap();
        std::os::unix::fs::symlink(&disk, sys.join("8:0")).unwrap();
        std::os::unix::fs::symlink(disk.join("sda1"), sys.join("8:1")).unwrap();
        assert_eq!(whole_disk(&sys, 8, 1).as_deref(), Some("8:0"));
        assert_eq!(whole_disk(&sys, 8, 0).as_deref(), Some("8:0"));
        assert_eq!(whole_disk(&sys, 0, 52), None);
    }
}
