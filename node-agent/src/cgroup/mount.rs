//! Where the cgroup hierarchies are mounted (`/proc/self/mountinfo`) and which cgroup a
//! process is in (`/proc/PID/cgroup`), for cgroup v1, v2 and hybrid hosts.

use std::path::{Component, Path, PathBuf};

use crate::error::FaultError;
use crate::target::CgroupDir;

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// The cgroup that is mounted there (mountinfo's 4th field; `/` unless a container
    /// runtime bind-mounted a sub-tree).
    pub root: String,
    /// v1: the controllers bound to the hierarchy (`cpu`, `cpuacct`, `name=systemd`), sorted;
    /// v2: empty (a v2 dir's controllers are read from its `cgroup.controllers`).
    pub controllers: Vec<String>,
    /// True for the unified (cgroup2) hierarchy.
    pub v2: bool,
}

/// Mount options of a v1 cgroup mount that are not controllers.
const V1_NON_CONTROLLER_OPTS: &[&str] = &[
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
    "none",
];

/// Parses mountinfo text into its cgroup mounts, keeping the first mount of each hierarchy
/// (later ones are bind mounts of the same tree).
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out: Vec<CgroupMount> = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let (root, mount_point) = (unescape(pre[3]), PathBuf::from(unescape(pre[4])));
        let m = match post[0] {
            "cgroup2" => CgroupMount {
                mount_point,
                root,
                controllers: Vec::new(),
                v2: true,
            },
            "cgroup" => {
                let mut controllers: Vec<String> = post[2]
                    .split(',')
                    .filter(|o| {
                        !V1_NON_CONTROLLER_OPTS.contains(o) && !o.starts_with("release_agent=")
                    })
                    .map(str::to_string)
                    .collect();
                controllers.sort();
                CgroupMount {
                    mount_point,
                    root,
                    controllers,
                    v2: false,
                }
            }
            _ => continue,
        };
        if !out
            .iter()
            .any(|o| o.v2 == m.v2 && o.controllers == m.controllers)
        {
            out.push(m);
        }
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup mounts seen by this process (`<proc_root>/self/mountinfo`).
pub fn mounts(proc_root: &Path) -> Result<Vec<CgroupMount>, FaultError> {
    let path = proc_root.join("self/mountinfo");
    let text = std::fs::read_to_string(&path).map_err(|source| FaultError::Io {
        action: "read",
        path,
        source,
    })?;
    Ok(parse_mountinfo(&text))
}

/// One line of `/proc/PID/cgroup`: `4:memory:/kubepods/pod1/abc` (v1) or `0::/x` (v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcCgroup {
    /// Hierarchy ID (0 for v2).
    pub hierarchy: u32,
    /// Controllers of a v1 hierarchy, sorted; empty for v2.
    pub controllers: Vec<String>,
    /// The cgroup path relative to the hierarchy root.
    pub path: String,
}

/// Parses `/proc/PID/cgroup` text; malformed lines are skipped.
pub fn parse_proc_cgroup(text: &str) -> Vec<ProcCgroup> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let hierarchy = it.next()?.parse().ok()?;
            let ctl = it.next()?;
            let path = it.next()?.to_string();
            let mut controllers: Vec<String> = ctl
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            controllers.sort();
            Some(ProcCgroup {
                hierarchy,
                controllers,
                path,
            })
        })
        .collect()
}

impl CgroupMount {
    /// The directory of cgroup `path` (relative to the hierarchy root) under this mount,
    /// or `None` when the path is outside what is mounted or tries to climb out with `..`.
    pub fn dir_of(&self, path: &str) -> Option<PathBuf> {
        let rel = Path::new(path).strip_prefix(&self.root).ok()?;
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        Some(self.mount_point.join(rel))
    }

    /// The mount that serves a `/proc/PID/cgroup` line.
    fn serves(&self, line: &ProcCgroup) -> bool {
        if line.hierarchy == 0 && line.controllers.is_empty() {
            self.v2
        } else {
            !self.v2 && self.controllers == line.controllers
        }
    }

    /// A [`CgroupDir`] for `dir` under this mount.
    pub fn cgroup_dir(&self, dir: PathBuf) -> CgroupDir {
        let controllers = if self.v2 {
            v2_controllers(&dir)
        } else {
            self.controllers.clone()
        };
        CgroupDir {
            path: dir,
            controllers,
            v2: self.v2,
        }
    }
}

/// The controllers available in a v2 cgroup (its `cgroup.controllers`, which mirrors the
/// parent's `cgroup.subtree_control`); empty when unreadable.
pub fn v2_controllers(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("cgroup.controllers"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The directories, one per mounted hierarchy, of a process whose `/proc/PID/cgroup` is `lines`.
pub fn dirs_of_proc(lines: &[ProcCgroup], mounts: &[CgroupMount]) -> Vec<CgroupDir> {
    let mut out = Vec::new();
    for line in lines {
        if let Some(m) = mounts.iter().find(|m| m.serves(line))
            && let Some(dir) = m.dir_of(&line.path)
        {
            out.push(m.cgroup_dir(dir));
        }
    }
    out
}

/// The existing directories of cgroup `path` (relative to the hierarchy roots) across all
/// mounted hierarchies.
pub fn dirs_of_path(path: &str, mounts: &[CgroupMount]) -> Vec<CgroupDir> {
    mounts
        .iter()
        .filter_map(|m| {
            // `root` is `/` on hosts; a leading `/` on the asked path is relative to it.
            let abs = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            let dir = m.dir_of(&abs)?;
            dir.is_dir().then(|| m.cgroup_dir(dir))
        })
        .collect()
}

/// For an absolute path that lies under a mounted hierarchy (`/sys/fs/cgroup/cpu/x`), the
/// cgroup path it names (`/x`); `None` if it lies under none.
pub fn cgroup_path_of_dir(dir: &Path, mounts: &[CgroupMount]) -> Option<String> {
    let m = mounts
        .iter()
        .filter(|m| dir.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.components().count())?;
    let rel = dir.strip_prefix(&m.mount_point).ok()?;
    let root = Path::new(&m.root);
    Some(root.join(rel).to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd,release_agent=/x
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
99 31 0:32 / /mnt/mem\\040copy rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn mountinfo_finds_each_hierarchy_once() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 4, "{m:#?}");
        assert_eq!(m[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(m[0].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m[2].controllers, ["name=systemd"]);
        assert!(m[3].v2 && m[3].controllers.is_empty());
    }

    #[test]
    fn mountinfo_unescapes_octal() {
        assert_eq!(unescape("/mnt/mem\\040copy"), "/mnt/mem copy");
        assert_eq!(unescape("/trailing\\04"), "/trailing\\04");
    }

    #[test]
    fn proc_cgroup_maps_to_dirs() {
        let lines = parse_proc_cgroup(
            "12:cpuacct,cpu:/kubepods/pod1/abc\n4:memory:/kubepods/pod1/abc\n1:name=systemd:/x\n0::/k/abc\ngarbage\n",
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].controllers, ["cpu", "cpuacct"]);
        let dirs = dirs_of_proc(&lines, &parse_mountinfo(HYBRID));
        let paths: Vec<_> = dirs
            .iter()
            .map(|d| d.path.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            [
                "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/abc",
                "/sys/fs/cgroup/memory/kubepods/pod1/abc",
                "/sys/fs/cgroup/systemd/x",
                "/sys/fs/cgroup/unified/k/abc"
            ]
        );
        assert!(dirs[3].v2 && !dirs[0].v2);
    }

    #[test]
    fn sub_tree_mounts_strip_their_root_and_refuse_escapes() {
        let m = CgroupMount {
            mount_point: "/sys/fs/cgroup".into(),
            root: "/docker/abc".into(),
            controllers: vec![],
            v2: true,
        };
        assert_eq!(
            m.dir_of("/docker/abc/x"),
            Some(PathBuf::from("/sys/fs/cgroup/x"))
        );
        assert_eq!(m.dir_of("/other"), None);
        assert_eq!(m.dir_of("/docker/abc/../../etc"), None);
    }

    #[test]
    fn absolute_dirs_name_their_cgroup_path() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(
            cgroup_path_of_dir(Path::new("/sys/fs/cgroup/memory/a/b"), &m).as_deref(),
            Some("/a/b")
        );
        assert_eq!(
            cgroup_path_of_dir(Path::new("/sys/fs/cgroup/unified"), &m).as_deref(),
            Some("/")
        );
        assert_eq!(cgroup_path_of_dir(Path::new("/kubepods/a"), &m), None);
    }
}
