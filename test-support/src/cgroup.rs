//! A cgroup v1 freezer cgroup of the test's own, for the tests of freezer-based pauses
//! (the agent's `TestCgroup` makes cgroups in every hierarchy; this one is the plain
//! directory the tests poke at, independent of the code under test).

use std::path::PathBuf;
use std::time::Duration;

use crate::names::unique;
use crate::wait::wait_until;

/// `/sys/fs/cgroup/freezer/fltest-<pid>-<tag>-<n>`; on drop it is thawed, its tasks are
/// killed and it is removed.
pub struct FreezerCgroup(pub PathBuf);

impl FreezerCgroup {
    /// Creates it.
    pub fn create(tag: &str) -> FreezerCgroup {
        let path = PathBuf::from("/sys/fs/cgroup/freezer").join(unique(tag));
        std::fs::create_dir(&path)
            .unwrap_or_else(|e| panic!("create freezer cgroup {}: {e}", path.display()));
        FreezerCgroup(path)
    }

    /// Moves `pid` into it.
    pub fn add(&self, pid: u32) {
        std::fs::write(self.0.join("cgroup.procs"), pid.to_string())
            .expect("move pid into freezer cgroup");
    }

    /// `freezer.state`: `THAWED`, `FREEZING` or `FROZEN`.
    pub fn state(&self) -> String {
        std::fs::read_to_string(self.0.join("freezer.state"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for FreezerCgroup {
    fn drop(&mut self) {
        // A frozen task does not die of SIGKILL until thawed.
        let _ = std::fs::write(self.0.join("freezer.state"), "THAWED");
        if let Ok(procs) = std::fs::read_to_string(self.0.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        // The killed tasks take a moment to leave the cgroup.
        wait_until(Duration::from_secs(5), || {
            std::fs::remove_dir(&self.0).is_ok()
        });
    }
}
