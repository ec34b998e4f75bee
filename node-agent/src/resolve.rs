//! Target resolution on this node: from a [`LocalTarget`] (pid, process name, cgroup path,
//! netns, container ID) to the processes, cgroup directories and network namespace a fault
//! acts on. Synchronous: it only reads `/proc` and `/sys/fs/cgroup`.
//!
//! Every reader takes its roots from a [`Host`], so the parsing is tested against fixture
//! trees in a tempdir as well as against real processes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cgroup::mount::{self, CgroupMount};
use crate::error::FaultError;
use crate::target::{ProcRef, Resolved};
use faultline_spec::LocalTarget;

/// Shortest container-ID prefix accepted, as `docker ps` prints it.
const MIN_CONTAINER_PREFIX: usize = 12;

/// Resolves `target` on this machine.
pub fn resolve(target: &LocalTarget) -> Result<Resolved, FaultError> {
    Host::system().resolve(target)
}

/// Resolves all of `targets` on this machine (see [`Host::resolve_all`]).
pub fn resolve_all(targets: &[LocalTarget]) -> Vec<Result<Resolved, FaultError>> {
    Host::system().resolve_all(targets)
}

/// True if the process `p` still runs: same PID, same start time, not a zombie.
pub fn is_alive(p: &ProcRef) -> bool {
    Host::system().is_alive(p)
}

/// Where to read the system from: `/proc` and `/run/netns` on a real host, a fixture tree
/// in tests.
#[derive(Debug, Clone)]
pub struct Host {
    proc: PathBuf,
    run_netns: PathBuf,
    self_pid: u32,
}

/// What `/proc/PID/stat` says that we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Field 3: `R`, `S`, `Z`, ...
    pub state: char,
    /// Field 4: the parent's PID.
    pub ppid: u32,
    /// Field 22: start time in clock ticks since boot.
    pub start_time: u64,
}

/// Parses `/proc/PID/stat`. `comm` (field 2) may hold spaces and parentheses, so the
/// fields after it are found from the *last* `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); field N is f[N - 3].
    Some(Stat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start_time: f.get(19)?.parse().ok()?,
    })
}

/// The 64-hex container ID that one cgroup path component names, for the formats of
/// containerd (`cri-containerd-<id>.scope`, or a bare `<id>` under `/kubepods/...`),
/// CRI-O (`crio-<id>.scope`), Docker (`docker-<id>.scope`, `/docker/<id>`) and podman
/// (`libpod-<id>.scope`). CRI-O's `crio-conmon-<id>.scope` is the monitor, not the
/// container, and does not match.
pub fn container_id_in(component: &str) -> Option<&str> {
    let c = component.strip_suffix(".scope").unwrap_or(component);
    let id = ["cri-containerd-", "crio-", "docker-", "libpod-"]
        .iter()
        .find_map(|p| c.strip_prefix(p))
        .unwrap_or(c);
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

impl Host {
    /// The real machine.
    pub fn system() -> Host {
        Host::at("/proc", "/run/netns")
    }

    /// A host whose `/proc` is `proc` and whose named netns live in `run_netns`.
    pub fn at(proc: impl Into<PathBuf>, run_netns: impl Into<PathBuf>) -> Host {
        Host {
            proc: proc.into(),
            run_netns: run_netns.into(),
            self_pid: std::process::id(),
        }
    }

    /// Resolves `target`; a target that names nothing is [`FaultError::TargetNotFound`].
    pub fn resolve(&self, target: &LocalTarget) -> Result<Resolved, FaultError> {
        match target {
            LocalTarget::Pid(pid) => {
                let p = self
                    .proc_ref(*pid)
                    .ok_or_else(|| FaultError::TargetNotFound(target.to_string()))?;
                self.of_procs(vec![p])
            }
            LocalTarget::ProcessName(name) => {
                let procs = self.by_name(name);
                if procs.is_empty() {
                    return Err(FaultError::TargetNotFound(target.to_string()));
                }
                self.of_procs(procs)
            }
            LocalTarget::Cgroup(path) => self.by_cgroup(target, path),
            LocalTarget::Netns(name) => self.by_netns(target, name),
            LocalTarget::ContainerId(id) => self.by_container(target, id),
        }
    }

    /// The process `pid` as a [`ProcRef`], or `None` if it is gone or a zombie.
    pub fn proc_ref(&self, pid: u32) -> Option<ProcRef> {
        let st = self.stat(pid)?;
        (st.state != 'Z').then_some(ProcRef {
            pid,
            start_time: st.start_time,
        })
    }

    /// `/proc/PID/stat`, parsed; `None` if the process is gone.
    pub fn stat(&self, pid: u32) -> Option<Stat> {
        parse_stat(&std::fs::read_to_string(self.proc.join(pid.to_string()).join("stat")).ok()?)
    }

    /// True if `p` still runs: same PID, same start time, not a zombie.
    pub fn is_alive(&self, p: &ProcRef) -> bool {
        self.proc_ref(p.pid)
            .is_some_and(|now| now.start_time == p.start_time)
    }

    /// The PIDs under `/proc`, ascending.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = std::fs::read_dir(&self.proc)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// argv of `pid`, empty for kernel threads, zombies and processes that are gone.
    pub fn cmdline(&self, pid: u32) -> Vec<String> {
        let raw =
            std::fs::read(self.proc.join(pid.to_string()).join("cmdline")).unwrap_or_default();
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// The cgroup mounts this host has.
    pub fn mounts(&self) -> Result<Vec<CgroupMount>, FaultError> {
        mount::mounts(&self.proc)
    }

    /// Processes named `name` by `comm` or argv[0]'s basename. Kernel threads (no argv)
    /// and this agent are left out: stressing or killing them is never what was meant.
    fn by_name(&self, name: &str) -> Vec<ProcRef> {
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
    fn of_procs(&self, procs: Vec<ProcRef>) -> Result<Resolved, FaultError> {
        self.of_procs_in(procs, &self.mounts()?)
    }

    /// [`Host::of_procs`] with the cgroup mounts already read.
    fn of_procs_in(
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

    fn by_cgroup(&self, target: &LocalTarget, path: &Path) -> Result<Resolved, FaultError> {
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

    fn by_netns(&self, target: &LocalTarget, name: &str) -> Result<Resolved, FaultError> {
        let path = if name.contains('/') {
            PathBuf::from(name)
        } else {
            self.run_netns.join(name)
        };
        if name.is_empty() || name == "." || name == ".." {
            return Err(FaultError::InvalidTarget {
                target: target.to_string(),
                reason: "not a netns name".into(),
            });
        }
        if !path.exists() {
            return Err(FaultError::TargetNotFound(format!(
                "{target} ({} does not exist)",
                path.display()
            )));
        }
        if !is_netns(&path) {
            return Err(FaultError::InvalidTarget {
                target: target.to_string(),
                reason: format!("{} is not a network namespace", path.display()),
            });
        }
        Ok(Resolved {
            procs: Vec::new(),
            cgroups: Vec::new(),
            netns_id: crate::netns::id(&path).ok(),
            netns: Some(path),
        })
    }

    fn by_container(&self, target: &LocalTarget, id: &str) -> Result<Resolved, FaultError> {
        self.in_containers(&self.containers(), target, id)
    }

    /// Every container ID found in a process's cgroup path, with its processes: one read
    /// of `/proc/*/cgroup`, shared by all the container targets of a request.
    pub fn containers(&self) -> Containers {
        let mut found: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for pid in self.pids() {
            let Ok(text) = std::fs::read_to_string(self.proc.join(pid.to_string()).join("cgroup"))
            else {
                continue;
            };
            let ids: std::collections::BTreeSet<String> = mount::parse_proc_cgroup(&text)
                .iter()
                .flat_map(|l| {
                    l.path
                        .split('/')
                        .filter_map(container_id_in)
                        .map(str::to_ascii_lowercase)
                        .collect::<Vec<_>>()
                })
                .collect();
            for full in ids {
                found.entry(full).or_default().push(pid);
            }
        }
        Containers {
            ids: found,
            mounts: self.mounts().ok(),
        }
    }

    /// Resolves container ID (or prefix) `id` against `containers`.
    fn in_containers(
        &self,
        containers: &Containers,
        target: &LocalTarget,
        id: &str,
    ) -> Result<Resolved, FaultError> {
        let want = id.to_ascii_lowercase();
        if want.len() < MIN_CONTAINER_PREFIX
            || want.len() > 64
            || !want.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(FaultError::InvalidTarget {
                target: target.to_string(),
                reason: format!("a container ID is {MIN_CONTAINER_PREFIX} to 64 hex digits"),
            });
        }
        let matches: Vec<(&String, &Vec<u32>)> = containers
            .ids
            .range(want.clone()..)
            .take_while(|(full, _)| full.starts_with(&want))
            .collect();
        match matches.as_slice() {
            [] => Err(FaultError::TargetNotFound(format!(
                "{target} (no process in its cgroup)"
            ))),
            [(_, pids)] => {
                let procs: Vec<ProcRef> = pids.iter().filter_map(|&p| self.proc_ref(p)).collect();
                if procs.is_empty() {
                    return Err(FaultError::TargetNotFound(format!(
                        "{target} (its processes exited)"
                    )));
                }
                match &containers.mounts {
                    Some(m) => self.of_procs_in(procs, m),
                    None => self.of_procs(procs),
                }
            }
            _ => Err(FaultError::AmbiguousTarget {
                target: target.to_string(),
                matches: matches.iter().map(|(full, _)| (*full).clone()).collect(),
            }),
        }
    }

    /// Resolves every target of one request, in order. Container IDs are looked up in one
    /// scan of `/proc` for all of them: a scan per target made an apply on 1,000
    /// containers read `/proc/PID/cgroup` ten million times on a busy node.
    pub fn resolve_all(&self, targets: &[LocalTarget]) -> Vec<Result<Resolved, FaultError>> {
        let mut containers: Option<Containers> = None;
        targets
            .iter()
            .map(|t| match t {
                LocalTarget::ContainerId(id) => {
                    let c = containers.get_or_insert_with(|| self.containers());
                    self.in_containers(c, t, id)
                }
                _ => self.resolve(t),
            })
            .collect()
    }
}

/// The container IDs running on a host, full and lowercase, with their PIDs ascending,
/// and the cgroup mounts as read with them.
#[derive(Debug, Default)]
pub struct Containers {
    ids: BTreeMap<String, Vec<u32>>,
    mounts: Option<Vec<CgroupMount>>,
}

/// True if `path` is a namespace file (nsfs) for a network namespace. nsfs is what
/// `/proc/PID/ns/net` and the bind mounts under `/run/netns` are; a plain file there
/// (a netns whose mount was lost) is not one.
#[cfg(target_os = "linux")]
fn is_netns(path: &Path) -> bool {
    use nix::sys::statfs::{NSFS_MAGIC, statfs};
    // `/proc/PID/ns/*` are magic links reading `net:[ino]`; the kind of a bind mount under
    // /run/netns cannot be read without an ioctl, and `ip netns` only makes netns ones.
    if let Ok(link) = std::fs::read_link(path)
        && !link.to_string_lossy().starts_with("net:[")
    {
        return false;
    }
    // statfs follows the magic link to the nsfs inode.
    statfs(path).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC)
}

#[cfg(not(target_os = "linux"))]
fn is_netns(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const ID_A: &str = "aaaabbbbcccc0000111122223333444455556666777788889999aaaabbbbcccc";
    const ID_B: &str = "aaaabbbbcccc9999111122223333444455556666777788889999aaaabbbbcccc";
    const ID_C: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A fake `/proc` + cgroup tree in a tempdir, youki `set_fixture` style.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().display().to_string();
            fs::create_dir_all(dir.path().join("proc/self")).unwrap();
            fs::write(
                dir.path().join("proc/self/mountinfo"),
                format!(
                    "32 31 0:29 / {root}/cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                     35 31 0:32 / {root}/cg/memory rw - cgroup cgroup rw,memory\n\
                     41 31 0:38 / {root}/cg/unified rw - cgroup2 cgroup2 rw\n"
                ),
            )
            .unwrap();
            Fixture { dir }
        }

        fn host(&self) -> Host {
            Host::at(self.dir.path().join("proc"), self.dir.path().join("netns"))
        }

        fn proc(&self, pid: u32, comm: &str, argv: &[&str], cgroup: &str) {
            let d = self.dir.path().join(format!("proc/{pid}"));
            fs::create_dir_all(&d).unwrap();
            // comm with a space and a `)` to prove the stat parser splits at the last `)`.
            fs::write(
                d.join("stat"),
                format!(
                    "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {} 1 1\n",
                    1000 + pid
                ),
            )
            .unwrap();
            fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
            fs::write(
                d.join("cmdline"),
                argv.iter().map(|a| format!("{a}\0")).collect::<String>(),
            )
            .unwrap();
            fs::write(d.join("cgroup"), cgroup).unwrap();
        }

        fn cgroup(&self, hier: &str, path: &str, procs: &str) -> PathBuf {
            let d = self
                .dir
                .path()
                .join("cg")
                .join(hier)
                .join(path.trim_start_matches('/'));
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("cgroup.procs"), procs).unwrap();
            d
        }
    }

    fn v1v2(path: &str) -> String {
        format!("4:memory:{path}\n2:cpuacct,cpu:{path}\n0::{path}\n")
    }

    #[test]
    fn stat_start_time_survives_odd_comms() {
        let st =
            parse_stat("42 (a) b (c)) R 7 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0").unwrap();
        assert_eq!(
            st,
            Stat {
                state: 'R',
                ppid: 7,
                start_time: 98765
            }
        );
        assert_eq!(parse_stat("42 (x) R 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn container_ids_in_every_runtime_format() {
        for c in [
            format!("cri-containerd-{ID_C}.scope"),
            format!("crio-{ID_C}.scope"),
            format!("docker-{ID_C}.scope"),
            ID_C.to_string(),
        ] {
            assert_eq!(container_id_in(&c), Some(ID_C), "{c}");
        }
        assert_eq!(container_id_in(&format!("crio-conmon-{ID_C}.scope")), None);
        assert_eq!(container_id_in("kubepods-burstable.slice"), None);
        assert_eq!(container_id_in(&ID_C[..60]), None);
    }

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

    #[test]
    fn container_ids_resolve_by_prefix_and_refuse_ambiguity() {
        let f = Fixture::new();
        let a = format!("/kubepods.slice/kubepods-pod1.slice/cri-containerd-{ID_A}.scope");
        f.proc(40, "a", &["a"], &v1v2(&a));
        f.proc(41, "a2", &["a2"], &v1v2(&a));
        f.proc(
            42,
            "b",
            &["b"],
            &format!("3:memory:/docker/{ID_B}\n0::/system.slice/docker-{ID_B}.scope\n"),
        );
        f.proc(
            43,
            "c",
            &["c"],
            &format!("0::/kubepods/burstable/pod9/{ID_C}\n"),
        );
        let h = f.host();
        let r = h
            .resolve(&LocalTarget::ContainerId(ID_A[..20].into()))
            .unwrap();
        assert_eq!(r.procs.iter().map(|p| p.pid).collect::<Vec<_>>(), [40, 41]);
        assert_eq!(r.netns, Some(f.dir.path().join("proc/40/ns/net")));
        assert!(r.cgroups[0].path.ends_with(a.trim_start_matches('/')));
        let r = h
            .resolve(&LocalTarget::ContainerId(ID_B.to_uppercase()))
            .unwrap();
        assert_eq!(r.procs[0].pid, 42);
        assert_eq!(
            h.resolve(&LocalTarget::ContainerId(ID_C[..12].into()))
                .unwrap()
                .procs[0]
                .pid,
            43
        );
        let err = h
            .resolve(&LocalTarget::ContainerId(ID_A[..12].into()))
            .unwrap_err();
        assert!(
            matches!(err, FaultError::AmbiguousTarget { ref matches, .. } if matches.len() == 2),
            "{err}"
        );
        for bad in ["abc", "zzzzzzzzzzzzzz"] {
            let err = h
                .resolve(&LocalTarget::ContainerId(bad.into()))
                .unwrap_err();
            assert!(matches!(err, FaultError::InvalidTarget { .. }), "{err}");
        }
        let err = h
            .resolve(&LocalTarget::ContainerId("ffffffffffffff".into()))
            .unwrap_err();
        assert!(matches!(err, FaultError::TargetNotFound(_)), "{err}");
        // One scan for a whole request answers as one resolve per target does, in order.
        let targets = [
            LocalTarget::ContainerId(ID_A[..20].into()),
            LocalTarget::Pid(42),
            LocalTarget::ContainerId(ID_B.to_uppercase()),
            LocalTarget::ContainerId(ID_C[..12].into()),
            LocalTarget::ContainerId("ffffffffffffff".into()),
            LocalTarget::ContainerId(ID_A[..12].into()),
            LocalTarget::ContainerId("abc".into()),
        ];
        let all = h.resolve_all(&targets);
        assert_eq!(all.len(), targets.len());
        for (t, r) in targets.iter().zip(&all) {
            assert_eq!(format!("{r:?}"), format!("{:?}", h.resolve(t)), "{t}");
        }
        assert_eq!(all[3].as_ref().unwrap().procs[0].pid, 43);
    }

    #[test]
    fn netns_must_exist_and_be_a_netns() {
        let f = Fixture::new();
        fs::create_dir_all(f.dir.path().join("netns")).unwrap();
        fs::write(f.dir.path().join("netns/plainfile"), "").unwrap();
        let h = f.host();
        let err = h
            .resolve(&LocalTarget::Netns("plainfile".into()))
            .unwrap_err();
        assert!(matches!(err, FaultError::InvalidTarget { .. }), "{err}");
        let err = h.resolve(&LocalTarget::Netns("absent".into())).unwrap_err();
        assert!(matches!(err, FaultError::TargetNotFound(_)), "{err}");
        // Real namespace files.
        let r = h
            .resolve(&LocalTarget::Netns("/proc/self/ns/net".into()))
            .unwrap();
        assert_eq!(r.netns, Some(PathBuf::from("/proc/self/ns/net")));
        assert!(r.procs.is_empty() && r.cgroups.is_empty());
        let err = h
            .resolve(&LocalTarget::Netns("/proc/self/ns/mnt".into()))
            .unwrap_err();
        assert!(matches!(err, FaultError::InvalidTarget { .. }), "{err}");
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
