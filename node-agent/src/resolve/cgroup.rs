//! Targets that name a cgroup: its directory in every mounted hierarchy, and the
//! processes in them.

use std::path::Path;

use super::host::Host;
use crate::cgroup::mount;
use crate::error::FaultError;
use crate::target::Resolved;
use faultline_spec::LocalTarget;

impl Host {
    pub(super) fn by_cgroup(
        &self,
        target: &LocalTarget,
        path: &Path,
    ) -> Result<Resolved, FaultError> {
        let mounts = self.mounts()?;
        // An absolute path under a mounted hierarchy names a directory; anything else is a
        // cgroup path relative to the hierarchy roots.
        let cg = mount::cgroup_path_of_dir(path, &mounts)
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        let cgroups = mount::dirs_of_path(&cg, &mounts);
        if cgroups.is_empty() {
            return Err(FaultError::TargetNotFound(format!(
                "{target} (no such cgroup in any mounted hierarchy)"
            )));
        }
        let mut pids = Vec::new();
        for d in &cgroups {
            pids.extend(crate::cgroup::procs::read(&d.path)?);
        }
        pids.sort_unstable();
        pids.dedup();
        let procs = pids.into_iter().filter_map(|p| self.proc_ref(p)).collect();
        Ok(Resolved {
            procs,
            cgroups,
            netns: None,
            netns_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::super::fixture::{Fixture, v1v2};
    use super::*;

    #[test]
    fn cgroup_paths_relative_or_absolute_find_every_hierarchy() {
        let f = Fixture::new();
        f.proc(30, "a", &["a"], &v1v2("/grp"));
        f.proc(31, "b", &["b"], &v1v2("/grp"));
        f.cgroup("memory", "/grp", "30\n31\n");
        f.cgroup("cpu,cpuacct", "/grp", "30\n");
        let v2 = f.cgroup("unified", "/grp", "31\n99\n"); // 99 has exited
        fs::write(v2.join("cgroup.controllers"), "cpu memory\n").unwrap();
        for t in [
            PathBuf::from("/grp"),
            PathBuf::from("grp"),
            f.dir.path().join("cg/memory/grp"),
        ] {
            let r = f.host().resolve(&LocalTarget::Cgroup(t.clone())).unwrap();
            assert_eq!(
                r.procs.iter().map(|p| p.pid).collect::<Vec<_>>(),
                [30, 31],
                "{t:?}"
            );
            assert_eq!(r.cgroups.len(), 3);
            assert_eq!(r.cgroups[2].controllers, ["cpu", "memory"]);
            assert_eq!(r.netns, None);
        }
        for missing in ["/nope", "/grp/../../etc"] {
            let err = f
                .host()
                .resolve(&LocalTarget::Cgroup(missing.into()))
                .unwrap_err();
            assert!(
                matches!(err, FaultError::TargetNotFound(_)),
                "{missing}: {err}"
            );
        }
    }
}
