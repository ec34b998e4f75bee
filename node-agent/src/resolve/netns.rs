//! Targets that name a network namespace (`/run/netns/NAME` or a path to a netns file).

use std::path::{Path, PathBuf};

use super::host::Host;
use crate::error::FaultError;
use crate::target::Resolved;
use faultline_spec::LocalTarget;

impl Host {
    pub(super) fn by_netns(
        &self,
        target: &LocalTarget,
        name: &str,
    ) -> Result<Resolved, FaultError> {
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
    use std::fs;
    use std::path::PathBuf;

    use super::super::fixture::Fixture;
    use super::*;

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
}
