//! What the resolvers' tests share: container IDs and a fake host tree.

use std::fs;
use std::path::PathBuf;

use super::host::Host;

pub(super) const ID_A: &str = "aaaabbbbcccc0000111122223333444455556666777788889999aaaabbbbcccc";
pub(super) const ID_B: &str = "aaaabbbbcccc9999111122223333444455556666777788889999aaaabbbbcccc";
pub(super) const ID_C: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A fake `/proc` + cgroup tree in a tempdir, youki `set_fixture` style.
pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
}

impl Fixture {
    pub(super) fn new() -> Fixture {
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

    pub(super) fn host(&self) -> Host {
        Host::at(self.dir.path().join("proc"), self.dir.path().join("netns"))
    }

    pub(super) fn proc(&self, pid: u32, comm: &str, argv: &[&str], cgroup: &str) {
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

    pub(super) fn cgroup(&self, hier: &str, path: &str, procs: &str) -> PathBuf {
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

pub(super) fn v1v2(path: &str) -> String {
    format!("4:memory:{path}\n2:cpuacct,cpu:{path}\n0::{path}\n")
}
