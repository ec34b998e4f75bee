//! Targets that name processes (a PID, a process name): the processes, and the cgroups and
//! netns of the first of them.

use std::path::Path;

use super::host::Host;
use crate::cgroup::mount::{self, CgroupMount};
use crate::error::FaultError;
use crate::target::{ProcRef, Resolved};

impl Host {
    /// Processes named `name` by `comm` or argv[0]'s basename. Kernel threads (no argv)
    /// and this agent are left out: stressing or killing them is never what was meant.
    pub(super) fn by_name(&self, name: &str) -> Vec<ProcRef> {
        self.pids()
            .into_iter()
            .filter(|&pid| pid != self.self_pid)
            .filter(|&pid| {
                let argv = self.cmdline(pid);
                let Some(arg0) = argv.first() else {
                    return false;
                };
                let comm = std::fs::read_to_string(self.proc.join(pid.to_string()).join("comm"))
                    .unwrap_or_default();
                comm.trim_end_matches('\n') == name
                    || Path::new(arg0).file_name().is_some_and(|b| b == name)
            })
            .filter_map(|pid| self.proc_ref(pid))
            .collect()
    }

    /// Cgroups and netns of the first of `procs`.
    pub(super) fn of_procs(&self, procs: Vec<ProcRef>) -> Result<Resolved, FaultError> {
        self.of_procs_in(procs, &self.mounts()?)
    }

    /// [`Host::of_procs`] with the cgroup mounts already read.
    pub(super) fn of_procs_in(
        &self,
        procs: Vec<ProcRef>,
        mounts: &[CgroupMount],
    ) -> Result<Resolved, FaultError> {
        let first = procs[0].pid;
        let path = self.proc.join(first.to_string()).join("cgroup");
        let text = std::fs::read_to_string(&path).map_err(|source| FaultError::Io {
            action: "read",
            path,
            source,
        })?;
        let cgroups = mount::dirs_of_proc(&mount::parse_proc_cgroup(&text), mounts);
        let netns = self.proc.join(first.to_string()).join("ns/net");
        Ok(Resolved {
            procs,
            cgroups,
            netns_id: crate::netns::id(&netns).ok(),
            netns: Some(netns),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::super::fixture::{Fixture, v1v2};
    use super::*;
    use crate::resolve::{is_alive, resolve};
    use faultline_spec::LocalTarget;

    #[test]
    fn pid_resolves_to_its_cgroups_and_netns() {
        let f = Fixture::new();
        f.proc(10, "my app) x", &["/usr/bin/app"], &v1v2("/svc"));
        let r = f.host().resolve(&LocalTarget::Pid(10)).unwrap();
        assert_eq!(
            r.procs,
            [ProcRef {
                pid: 10,
                start_time: 1010
            }]
        );
        let paths: Vec<_> = r
            .cgroups
            .iter()
            .map(|c| c.path.strip_prefix(f.dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            paths,
            [
                Path::new("cg/memory/svc"),
                Path::new("cg/cpu,cpuacct/svc"),
                Path::new("cg/unified/svc")
            ]
        );
        assert_eq!(r.cgroups[1].controllers, ["cpu", "cpuacct"]);
        assert!(r.cgroups[2].v2);
        assert_eq!(r.netns, Some(f.dir.path().join("proc/10/ns/net")));
        let err = f.host().resolve(&LocalTarget::Pid(11)).unwrap_err();
        assert!(
            matches!(err, FaultError::TargetNotFound(ref s) if s == "pid 11"),
            "{err}"
        );
    }

    #[test]
    fn names_match_comm_or_argv0_and_skip_kernel_threads() {
        let f = Fixture::new();
        f.proc(20, "nginx", &["nginx: master"], &v1v2("/a"));
        f.proc(21, "worker", &["/opt/nginx"], &v1v2("/a"));
        f.proc(22, "nginx", &[], &v1v2("/")); // a kernel thread: no argv
        f.proc(23, "other", &["/bin/other"], &v1v2("/"));
        let r = f
            .host()
            .resolve(&LocalTarget::ProcessName("nginx".into()))
            .unwrap();
        assert_eq!(r.procs.iter().map(|p| p.pid).collect::<Vec<_>>(), [20, 21]);
        let err = f
            .host()
            .resolve(&LocalTarget::ProcessName("absent".into()))
            .unwrap_err();
        assert!(err.to_string().contains("process absent"), "{err}");
    }

    #[test]
    fn real_processes_resolve_by_pid_and_argv0() {
        use std::os::unix::process::CommandExt;
        let name = format!("fltest-{}-res", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg0(&name)
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        // On a loaded machine the new argv can show in /proc a moment after spawn returns.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.starts_with(name.as_bytes()))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let by_pid = resolve(&LocalTarget::Pid(pid));
        let by_name = resolve(&LocalTarget::ProcessName(name.clone()));
        let own_comm = fs::read_to_string("/proc/self/comm").unwrap();
        let own = Host::system().by_name(own_comm.trim());
        child.kill().unwrap();
        child.wait().unwrap();
        let r = by_pid.unwrap();
        assert_eq!(r.procs[0].pid, pid);
        assert!(r.procs[0].start_time > 0);
        assert!(!is_alive(&r.procs[0]), "a reaped child is not alive");
        assert!(
            r.cgroups.iter().any(|c| c.v2)
                && r.cgroups
                    .iter()
                    .any(|c| c.controllers.contains(&"memory".to_string()))
        );
        assert!(r.cgroups.iter().all(|c| c.path.is_dir()), "{:?}", r.cgroups);
        assert_eq!(r.netns, Some(PathBuf::from(format!("/proc/{pid}/ns/net"))));
        assert_eq!(by_name.unwrap().procs, r.procs);
        assert!(
            own.iter().all(|p| p.pid != std::process::id()),
            "the agent never targets itself"
        );
        assert!(matches!(
            resolve(&LocalTarget::Pid(pid)),
            Err(FaultError::TargetNotFound(_))
        ));
    }
}
