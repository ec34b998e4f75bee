//! Throw-away cgroups for tests and benchmarks, named `fltest-...`, created at the root of
//! each chosen hierarchy (so the same cgroup path names them in every hierarchy, as on a
//! real node) and removed on drop, members killed first, even when a test fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cgroup::mount;
use crate::cgroup::procs;
use crate::error::FaultError;
use crate::target::CgroupDir;

/// A cgroup that exists while this value lives.
#[derive(Debug)]
pub struct TestCgroup {
    /// The cgroup path, e.g. `/fltest-123-cpu`.
    pub path: String,
    /// Its directory in each hierarchy it was created in.
    pub dirs: Vec<CgroupDir>,
    /// Every directory created, parents before children, per hierarchy (for removal).
    created: Vec<PathBuf>,
}

impl TestCgroup {
    /// Creates cgroup `path` (relative, must start with `fltest-`; may be nested) in every
    /// v1 hierarchy bound to one of `controllers`, and in the v2 hierarchy if `v2`.
    pub fn create(path: &str, controllers: &[&str], v2: bool) -> Result<TestCgroup, FaultError> {
        let path = format!("/{}", path.trim_start_matches('/'));
        if !path.starts_with("/fltest-") {
            return Err(FaultError::InvalidTarget {
                target: path,
                reason: "test cgroups are named fltest-...".into(),
            });
        }
        let mounts = mount::mounts(Path::new("/proc"))?;
        let mut cg = TestCgroup {
            path: path.clone(),
            dirs: Vec::new(),
            created: Vec::new(),
        };
        for m in mounts.iter().filter(|m| {
            if m.v2 {
                v2
            } else {
                m.controllers
                    .iter()
                    .any(|c| controllers.contains(&c.as_str()))
            }
        }) {
            let Some(dir) = m.dir_of(&path) else { continue };
            // Create each missing level so drop removes exactly what we made.
            let mut missing: Vec<PathBuf> = dir
                .ancestors()
                .take_while(|a| !a.exists())
                .map(Path::to_path_buf)
                .collect();
            missing.reverse();
            for d in missing {
                std::fs::create_dir(&d).map_err(|source| FaultError::Io {
                    action: "create cgroup",
                    path: d.clone(),
                    source,
                })?;
                cg.created.push(d);
            }
            cg.dirs.push(m.cgroup_dir(dir));
        }
        Ok(cg)
    }

    /// The directory in the v1 hierarchy bound to `controller`, or the v2 one for `"v2"`.
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| {
                if controller == "v2" {
                    d.v2
                } else {
                    !d.v2 && d.controllers.iter().any(|c| c == controller)
                }
            })
            .map(|d| d.path.as_path())
    }

    /// Moves `pid` into this cgroup in every hierarchy it exists in.
    pub fn add(&self, pid: u32) -> Result<(), FaultError> {
        self.dirs.iter().try_for_each(|d| procs::add(&d.path, pid))
    }

    /// The members, from the first hierarchy's `cgroup.procs`.
    pub fn members(&self) -> Vec<u32> {
        self.dirs
            .first()
            .and_then(|d| procs::read(&d.path).ok())
            .unwrap_or_default()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        for d in self.created.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let members = procs::read(d).unwrap_or_default();
                if members.is_empty() || Instant::now() > deadline {
                    break;
                }
                for pid in members {
                    // Members are the test's own processes; a failed kill means it is gone.
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Err(e) = std::fs::remove_dir(d) {
                eprintln!(
                    "fltest cleanup: failed to remove cgroup {}: {e}",
                    d.display()
                );
            }
        }
    }
}
