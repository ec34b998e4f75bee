//! diskFill: one file, `.faultline-fill-<fault id>` in the asked directory, allocated with
//! `fallocate` inside the target's mount namespace and sized from `statvfs` so that the
//! filesystem is as full as asked.
//!
//! - "How full" is `df`'s Use%: used / (used + available to unprivileged writers). Filling
//!   x bytes moves used up and available down by x, so their sum, `df`'s size, stays put
//!   and the file's size is `fill × size − used` (used without our own file, so applying
//!   again recomputes the same file).
//! - The safety margin: a fill never leaves less than 1% of that size available
//!   ([`MAX_FILL`]); the agent runs as root and could take the reserved blocks too, and
//!   the node (its journal, the kubelet, logs) needs some room. A `size` past it, or a
//!   filesystem already at or above the asked fill, is refused before anything is made.
//! - `fallocate` only, never zeroes written: a filesystem without it (`EOPNOTSUPP`) is
//!   refused, naming its type. On tmpfs the fill takes memory, as any tmpfs file does.
//! - The file is named in the journal record ([`Prior::FillFile`]) with the mount
//!   namespace's identity, so recovery finds it after a crash, through any process still
//!   in that namespace; deleting a file that is gone already is success.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{FallocateFlags, fallocate};
use nix::sys::statvfs::statvfs;

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::record::{FaultId, FaultRecord, Recovered};
use crate::error::FaultError;
use crate::mntns;
use crate::resolve::is_alive;
use crate::target::Prior;
use faultline_spec::NodeFault;
use faultline_spec::fault::disk::MAX_FILL;

/// The diskFill family.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFill;

/// The fill file's name for a fault: the journal and recovery find it by this.
pub fn file_name(id: &FaultId) -> String {
    format!(".faultline-fill-{id}")
}

/// How full a fill is asked to make the filesystem.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// `df`'s Use%, in percent.
    Fill(f64),
    /// This many bytes in the file.
    Size(u64),
}

/// A filesystem's space as `df` counts it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Df {
    /// Used (total − free).
    used: u64,
    /// Available to unprivileged writers.
    avail: u64,
    /// The allocation unit, to size the file in whole blocks.
    block: u64,
}

impl Df {
    /// `df`'s size: used + available.
    fn size(self) -> u64 {
        self.used + self.avail
    }

    /// `df`'s Use%, in percent.
    fn used_pct(self) -> f64 {
        if self.size() == 0 {
            return 100.0;
        }
        self.used as f64 * 100.0 / self.size() as f64
    }

    /// The same filesystem without `own` bytes of our fill file.
    fn without(self, own: u64) -> Df {
        let own = own.min(self.used);
        Df {
            used: self.used - own,
            avail: self.avail + own,
            ..self
        }
    }

    /// What stays available for the node whatever the fill: 1% of the size.
    fn margin(self) -> u64 {
        (self.size() as f64 * (100.0 - MAX_FILL) / 100.0).ceil() as u64
    }
}

/// How many bytes the fill file holds to reach `want` on `df` (without the file), or why
/// not: already that full, or no room above the margin.
fn plan(want: Want, df: Df) -> Result<u64, String> {
    let room = df.avail.saturating_sub(df.margin());
    match want {
        Want::Fill(p) => {
            let target = (df.size() as f64 * p / 100.0) as u64;
            // Whole blocks, rounded down: never past the asked fill or the margin.
            let bytes = target.saturating_sub(df.used).min(room);
            let bytes = bytes - bytes % df.block.max(1);
            if bytes == 0 {
                return Err(format!(
                    "its filesystem is already {:.1}% full, at or above the asked {p}%",
                    df.used_pct()
                ));
            }
            Ok(bytes)
        }
        Want::Size(n) if n > room => Err(format!(
            "{} more would leave less than the 1% ({}) diskFill keeps free: {} is available",
            human(n),
            human(df.margin()),
            human(df.avail)
        )),
        Want::Size(n) => Ok(n),
    }
}

/// Bytes for people: `40.0 MiB`.
fn human(b: u64) -> String {
    const UNITS: [(&str, f64); 4] = [
        ("TiB", 1099511627776.0),
        ("GiB", 1073741824.0),
        ("MiB", 1048576.0),
        ("KiB", 1024.0),
    ];
    UNITS
        .iter()
        .find(|(_, n)| b as f64 >= *n)
        .map_or(format!("{b} B"), |(u, n)| {
            format!("{:.1} {u}", b as f64 / n)
        })
}

/// The asked fill and its directory, from the record.
fn asked(rec: &FaultRecord) -> Result<(PathBuf, Want), FaultError> {
    let NodeFault::DiskFill(d) = &rec.kind else {
        return Err(refused(
            rec,
            format!("{} is not a disk fill", rec.kind.name()),
        ));
    };
    let want = match (d.fill, d.size) {
        (Some(p), _) => Want::Fill(p.value()),
        (None, Some(s)) => Want::Size(s.0),
        // The spec refuses a fill without either; a hand-written request is refused here.
        (None, None) => return Err(refused(rec, "neither `fill` nor `size` is set".into())),
    };
    Ok((PathBuf::from(&d.path), want))
}

fn refused(rec: &FaultRecord, reason: String) -> FaultError {
    FaultError::Unsupported {
        kind: rec.kind.name(),
        target: rec.target.to_string(),
        reason,
    }
}

/// The fill file and a path to the mount namespace it lives in now.
fn located(rec: &FaultRecord) -> Result<(PathBuf, PathBuf), FaultError> {
    match &rec.prior {
        Some(Prior::FillFile {
            file,
            mntns,
            mntns_id,
        }) => Ok((file.clone(), mntns::locate(mntns, *mntns_id)?)),
        _ => Err(refused(
            rec,
            "the record names no fill file (it was journaled without one)".into(),
        )),
    }
}

/// `df` of `dir` and the allocated bytes of `file` (0 when absent), read where the job
/// runs. An `Err` is (what failed, path, error).
fn read_space(dir: &Path, file: &Path) -> Result<(Df, Option<u64>), (&'static str, io::Error)> {
    let s = statvfs(dir).map_err(|e| ("statvfs", io::Error::from(e)))?;
    let unit = s.fragment_size() as u64;
    let df = Df {
        used: (s.blocks() as u64).saturating_sub(s.blocks_free() as u64) * unit,
        avail: s.blocks_available() as u64 * unit,
        block: s.block_size() as u64,
    };
    let own = match std::fs::symlink_metadata(file) {
        Ok(m) if m.is_file() => Some(m.blocks() * 512),
        Ok(_) => {
            return Err((
                "find a regular file at",
                io::Error::other("something else is there"),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(("stat", e)),
    };
    Ok((df, own))
}

/// The filesystem type at `dir`, for the "no fallocate" refusal.
fn fs_type(dir: &Path) -> String {
    use nix::sys::statfs::statfs;
    let Ok(s) = statfs(dir) else {
        return "unknown type".into();
    };
    let magic = s.filesystem_type().0 as u64;
    let name = match magic {
        0xEF53 => "ext2/3/4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlay",
        0x6969 => "nfs",
        0x4D44 => "vfat",
        0x6573_5546 => "fuse",
        0x2FC1_2FC1 => "zfs",
        0x7366_746E => "ntfs",
        _ => "",
    };
    if name.is_empty() {
        format!("type {magic:#x}")
    } else {
        name.to_string()
    }
}

/// What a fill job did or found, back from the mount namespace.
enum Filled {
    Done,
    Refused(String),
    Failed(&'static str, PathBuf, io::Error),
}

/// Allocates the fill file in `dir` (run inside the target's mount namespace).
fn fill(dir: &Path, file: &Path, want: Want) -> Filled {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Filled::Refused(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Filled::Refused(format!(
                "{} does not exist in the target's mount namespace",
                dir.display()
            ));
        }
        Err(e) => return Filled::Failed("stat", dir.to_path_buf(), e),
    }
    let (df, own) = match read_space(dir, file) {
        Ok(r) => r,
        Err((step, e)) => return Filled::Failed(step, file.to_path_buf(), e),
    };
    let bytes = match plan(want, df.without(own.unwrap_or(0))) {
        Ok(b) => b,
        Err(why) => return Filled::Refused(format!("{}: {why}", dir.display())),
    };
    let f = match OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(file)
    {
        Ok(f) => f,
        Err(e) => return Filled::Failed("create", file.to_path_buf(), e),
    };
    let len = i64::try_from(bytes).unwrap_or(i64::MAX);
    match fallocate(&f, FallocateFlags::empty(), 0, len) {
        Ok(()) => {}
        Err(Errno::EOPNOTSUPP) => {
            let _ = std::fs::remove_file(file);
            return Filled::Refused(format!(
                "the filesystem at {} ({}) does not support fallocate; diskFill never writes zeroes instead",
                dir.display(),
                fs_type(dir)
            ));
        }
        Err(e) => {
            // All or nothing: no half-allocated file stays behind.
            let _ = std::fs::remove_file(file);
            return Filled::Failed("fallocate", file.to_path_buf(), io::Error::from(e));
        }
    }
    // A file left larger by an earlier apply shrinks to the size asked now.
    if f.metadata().is_ok_and(|m| m.len() > bytes)
        && let Err(e) = f.set_len(bytes)
    {
        return Filled::Failed("truncate", file.to_path_buf(), e);
    }
    Filled::Done
}

impl Fault for DiskFill {
    /// Names the fill file and the target's mount namespace, for the journal.
    async fn prepare(&self, rec: &FaultRecord) -> Result<Option<Prior>, FaultError> {
        let (dir, _) = asked(rec)?;
        if rec.resolved.procs.is_empty() {
            return Err(refused(
                rec,
                "a disk fill needs a process in the target: the path is looked up in its mount namespace".into(),
            ));
        }
        let live = rec.resolved.procs.iter().filter(|p| is_alive(p));
        let (mntns, mntns_id) = mntns::of_pids(live.map(|p| p.pid), &rec.target.to_string())?;
        Ok(Some(Prior::FillFile {
            file: dir.join(file_name(&rec.id)),
            mntns,
            mntns_id,
        }))
    }

    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let (dir, want) = asked(rec)?;
        let (file, ns) = located(rec)?;
        match mntns::run_in(&ns, move || fill(&dir, &file, want))? {
            Filled::Done => Ok(()),
            Filled::Refused(why) => Err(refused(rec, why)),
            Filled::Failed(action, path, source) => Err(FaultError::Io {
                action,
                path,
                source,
            }),
        }
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let Some(Prior::FillFile { file, .. }) = &rec.prior else {
            // Journaled before prepare named a file: nothing was ever allocated.
            return Ok(Recovered::AlreadyGone);
        };
        let ns = match located(rec) {
            Ok((_, ns)) => ns,
            Err(FaultError::TargetNotFound(why)) => {
                return Ok(Recovered::TargetGone(format!(
                    "{why}; if {} is on a volume that outlives the target, delete {} there",
                    file.parent().unwrap_or(Path::new("/")).display(),
                    file.display()
                )));
            }
            Err(e) => return Err(e),
        };
        let target = file.clone();
        match mntns::run_in(&ns, move || std::fs::remove_file(&target))? {
            Ok(()) => Ok(Recovered::Removed),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Recovered::AlreadyGone),
            Err(source) => Err(FaultError::Io {
                action: "delete fill file",
                path: file.clone(),
                source,
            }),
        }
    }

    /// Seen when statvfs shows the filesystem as full as asked (a `fill` within one point
    /// below it: other writers may free space meanwhile) with the fill file holding its
    /// allocation, or, for a `size`, the file holding that much.
    async fn observe(&self, rec: &FaultRecord, _: &Baseline) -> Observation {
        let (dir, want) = match asked(rec) {
            Ok(a) => a,
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let (file, ns) = match located(rec) {
            Ok(l) => l,
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let read = {
            let (dir, file) = (dir.clone(), file.clone());
            mntns::run_in(&ns, move || read_space(&dir, &file))
        };
        let (df, own) = match read {
            Ok(Ok(r)) => r,
            Ok(Err((step, e))) => {
                return Observation::unseen(format!("{step} {}: {e}", file.display()));
            }
            Err(e) => return Observation::unseen(e.to_string()),
        };
        let Some(own) = own else {
            return Observation::unseen(format!("{} is not there", file.display()));
        };
        let space = format!(
            "statvfs {}: {:.1}% used, {} available of {}; {} holds {}",
            dir.display(),
            df.used_pct(),
            human(df.avail),
            human(df.size()),
            file.file_name().unwrap_or_default().to_string_lossy(),
            human(own)
        );
        let (seen, asked) = match want {
            Want::Fill(p) => (own > 0 && df.used_pct() >= p - 1.0, format!("fill {p}%")),
            Want::Size(n) => (
                own + df.block >= n,
                format!("size {}", faultline_spec::Bytes(n)),
            ),
        };
        if seen {
            Observation::seen(format!("{space} (asked {asked})"))
        } else {
            Observation::unseen(format!("{space}: short of the asked {asked}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn df(used: u64, avail: u64) -> Df {
        Df {
            used,
            avail,
            block: 4096,
        }
    }

    #[test]
    fn a_fill_is_sized_from_df_and_never_past_the_margin() {
        // 100 MiB as df counts it, 10 used: 90% needs 80 more.
        let d = df(10 * MIB, 90 * MIB);
        assert_eq!(plan(Want::Fill(90.0), d).unwrap(), 80 * MIB);
        // 99% leaves exactly the margin.
        assert_eq!(plan(Want::Fill(99.0), d).unwrap(), 89 * MIB);
        assert_eq!(d.margin(), MIB);
        // Already above: refused, saying how full.
        let e = plan(Want::Fill(5.0), d).unwrap_err();
        assert_eq!(
            e,
            "its filesystem is already 10.0% full, at or above the asked 5%"
        );
        // A size within the room, one past it.
        assert_eq!(plan(Want::Size(MIB), d).unwrap(), MIB);
        let e = plan(Want::Size(90 * MIB), d).unwrap_err();
        assert!(
            e.contains("less than the 1% (1.0 MiB) diskFill keeps free"),
            "{e}"
        );
        // Our own file does not count against us: applying again plans the same file.
        let after = df(90 * MIB, 10 * MIB);
        assert_eq!(
            plan(Want::Fill(90.0), after.without(80 * MIB)).unwrap(),
            80 * MIB
        );
    }

    #[test]
    fn sizes_print_for_people() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(40 * MIB), "40.0 MiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
    }
}
