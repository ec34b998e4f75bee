//! Targets that name a container by ID (or a prefix of it): found in the cgroup paths
//! of `/proc/*/cgroup`, in the formats of containerd, CRI-O, Docker and podman.

use std::collections::BTreeMap;

use super::host::Host;
use crate::cgroup::mount::{self, CgroupMount};
use crate::error::FaultError;
use crate::target::{ProcRef, Resolved};
use faultline_spec::LocalTarget;

/// Shortest container-ID prefix accepted, as `docker ps` prints it.
const MIN_CONTAINER_PREFIX: usize = 12;

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

/// The container IDs running on a host, full and lowercase, with their PIDs ascending,
/// and the cgroup mounts as read with them.
#[derive(Debug, Default)]
pub struct Containers {
    ids: BTreeMap<String, Vec<u32>>,
    mounts: Option<Vec<CgroupMount>>,
}

impl Host {
    pub(super) fn by_container(
        &self,
        target: &LocalTarget,
        id: &str,
    ) -> Result<Resolved, FaultError> {
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
    pub(super) fn in_containers(
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
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, ID_A, ID_B, ID_C, v1v2};
    use super::*;

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
}
