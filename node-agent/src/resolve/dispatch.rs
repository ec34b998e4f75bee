//! From a [`LocalTarget`] to the resolver of its kind, for one target or a whole request.

use super::container::Containers;
use super::host::Host;
use crate::error::FaultError;
use crate::target::Resolved;
use faultline_spec::LocalTarget;

/// Resolves `target` on this machine.
pub fn resolve(target: &LocalTarget) -> Result<Resolved, FaultError> {
    Host::system().resolve(target)
}

/// Resolves all of `targets` on this machine (see [`Host::resolve_all`]).
pub fn resolve_all(targets: &[LocalTarget]) -> Vec<Result<Resolved, FaultError>> {
    Host::system().resolve_all(targets)
}

impl Host {
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
