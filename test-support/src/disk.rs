//! Block devices and filesystems for the disk faults' tests: a loop device over a small
//! image file, optionally formatted, and a process that has it mounted in a mount
//! namespace of its own (so a path means something else to it than to the test). Each is
//! removed on drop, even when the test panics: the process is killed (its namespace, and
//! the mount in it, go with it), then the loop device is detached and the image deleted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{Proc, sh};
use crate::wait::wait_until;

/// A loop device over a fresh image file, detached on drop.
pub struct LoopDev {
    /// `/dev/loopN`.
    pub dev: PathBuf,
    /// `MAJOR:MINOR`, as the cgroup files name it.
    pub number: String,
    // Held for its `Drop`: the image lives in it.
    _dir: tempfile::TempDir,
}

impl LoopDev {
    /// A loop device over a `mib` MiB image, formatted with `mkfs` (`"ext4"`, `"ext2"`)
    /// unless `None`. Panics with the command's output when the machine cannot (no root,
    /// no loop devices).
    pub fn new(mib: u64, mkfs: Option<&str>) -> LoopDev {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        let f = std::fs::File::create(&img).unwrap();
        f.set_len(mib << 20).unwrap();
        drop(f);
        if let Some(fs) = mkfs {
            let out = Command::new(format!("mkfs.{fs}"))
                .args(["-q", "-F"])
                .arg(&img)
                .output()
                .unwrap_or_else(|e| panic!("mkfs.{fs}: {e}"));
            assert!(out.status.success(), "mkfs.{fs}: {out:?}");
        }
        let dev = sh(&format!("losetup -f --show {}", img.display()));
        // The guard first, so a failing check below still detaches the device.
        let mut lo = LoopDev {
            dev: PathBuf::from(dev.trim()),
            number: String::new(),
            _dir: dir,
        };
        let name = lo.dev.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("loop"), "losetup gave {:?}", lo.dev);
        lo.number = std::fs::read_to_string(format!("/sys/block/{name}/dev"))
            .unwrap()
            .trim()
            .to_string();
        lo
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        // Detaching a device still mounted somewhere only marks it for autoclear: it goes
        // once the last mount does (the holder's namespace, killed before this drop).
        let _ = Command::new("losetup")
            .arg("-d")
            .arg(&self.dev)
            .stderr(Stdio::null())
            .status();
    }
}

/// A `sleep` in a private mount namespace of its own, with a loop filesystem mounted at
/// `mnt`, a directory that on the test's side stays empty and on the host's filesystem.
/// Declared after its [`LoopDev`], so it is dropped (killed) first.
pub struct MountedIn {
    /// The process; its mount namespace holds the mount.
    pub proc: Proc,
    /// The mount point, the same path on both sides.
    pub mnt: PathBuf,
    // Held for its `Drop`: the mount point lives in it.
    _dir: tempfile::TempDir,
}

impl MountedIn {
    /// Mounts `dev` at a fresh directory inside a new mount namespace held by a `sleep`.
    pub fn new(dev: &LoopDev) -> MountedIn {
        let dir = tempfile::tempdir().unwrap();
        let mnt = dir.path().join("data");
        std::fs::create_dir(&mnt).unwrap();
        let script = format!(
            "mount {} {} && exec sleep 600",
            dev.dev.display(),
            mnt.display()
        );
        let proc = Proc::spawn(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(&script)
                .stdin(Stdio::null()),
        );
        let pid = proc.pid();
        let mounted = wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.starts_with("sleep"))
        });
        assert!(mounted.is_some(), "{script} did not come up");
        MountedIn {
            proc,
            mnt,
            _dir: dir,
        }
    }

    /// `path` (on the namespace's side) as the test reaches it: through
    /// `/proc/PID/root`, which follows the namespace's mounts.
    pub fn inside(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        PathBuf::from(format!("/proc/{}/root", self.proc.pid())).join(rel)
    }
}
