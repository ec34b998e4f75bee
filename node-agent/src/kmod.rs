//! Making sure a kernel module a fault needs is there, before anything is changed.
//!
//! Order of checks, cheapest first: `/sys/module/NAME` (loaded, or built in with
//! parameters); `modules.builtin`; load it from `/lib/modules/$(uname -r)` as `modules.dep`
//! lists it (`finit_module`, with in-kernel decompression for `.ko.xz`/`.ko.zst`/`.ko.gz`,
//! falling back to `modprobe`); `/proc/kallsyms` (built in, on kernels without a
//! `/lib/modules` tree). If none holds, the error says so and names the package that ships
//! the module. This replaces the DaemonSet the seed ran just to `modprobe sch_netem`.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use nix::errno::Errno;
use nix::kmod::{ModuleInitFlags, finit_module};

use crate::error::{FaultError, ModprobeError, error_chain};

/// A module and a symbol only it defines, which `/proc/kallsyms` lists when it is built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Module {
    /// Module name, e.g. `sch_netem`.
    pub name: &'static str,
    /// A function of the module, e.g. `netem_enqueue`.
    pub symbol: &'static str,
}

/// The netem qdisc.
pub const SCH_NETEM: Module = Module {
    name: "sch_netem",
    symbol: "netem_enqueue",
};
/// The tbf qdisc.
pub const SCH_TBF: Module = Module {
    name: "sch_tbf",
    symbol: "tbf_enqueue",
};
/// The htb qdisc (peer-scoped faults).
pub const SCH_HTB: Module = Module {
    name: "sch_htb",
    symbol: "htb_enqueue",
};
/// The ingress qdisc (`from` direction).
pub const SCH_INGRESS: Module = Module {
    name: "sch_ingress",
    symbol: "ingress_init",
};
/// The u32 classifier.
pub const CLS_U32: Module = Module {
    name: "cls_u32",
    symbol: "u32_classify",
};
/// The mirred action (`from` direction).
pub const ACT_MIRRED: Module = Module {
    name: "act_mirred",
    symbol: "tcf_mirred_act",
};
/// Intermediate functional block devices (`from` direction).
pub const IFB: Module = Module {
    name: "ifb",
    symbol: "ifb_xmit",
};

/// `MODULE_INIT_COMPRESSED_FILE` (Linux 6.4+): the kernel decompresses the file itself.
const MODULE_INIT_COMPRESSED_FILE: u32 = 4;

/// Where the checks look; the real system's paths outside tests.
#[derive(Debug, Clone)]
pub struct Roots {
    /// `/sys/module`.
    pub sys_module: PathBuf,
    /// `/lib/modules/$(uname -r)`.
    pub modules_dir: PathBuf,
    /// `/proc/kallsyms`.
    pub kallsyms: PathBuf,
    /// `uname -r`, for messages.
    pub release: String,
}

impl Roots {
    /// This machine's paths.
    pub fn system() -> Roots {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        Roots {
            sys_module: "/sys/module".into(),
            modules_dir: Path::new("/lib/modules").join(&release),
            kallsyms: "/proc/kallsyms".into(),
            release,
        }
    }
}

/// Modules found present in this process's life; a module does not go away while a fault
/// uses it, so a hit skips the file checks next time.
static PRESENT: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Makes sure `m` is usable on this machine, loading it if needed.
pub fn ensure(m: Module) -> Result<(), FaultError> {
    if PRESENT.lock().is_ok_and(|p| p.contains(&m.name)) {
        return Ok(());
    }
    ensure_in(m, &Roots::system())?;
    if let Ok(mut p) = PRESENT.lock() {
        p.push(m.name);
    }
    Ok(())
}

/// [`ensure`] against explicit paths.
pub fn ensure_in(m: Module, roots: &Roots) -> Result<(), FaultError> {
    if roots.sys_module.join(m.name).exists() {
        return Ok(());
    }
    let builtin = fs::read_to_string(roots.modules_dir.join("modules.builtin")).unwrap_or_default();
    if builtin
        .lines()
        .any(|l| module_name(l).as_deref() == Some(m.name))
    {
        return Ok(());
    }
    let dep = fs::read_to_string(roots.modules_dir.join("modules.dep")).unwrap_or_default();
    if let Some(chain) = dep_chain(&dep, m.name) {
        // Dependencies first: modules.dep lists them so that the last is loaded first.
        for rel in chain.iter().rev() {
            load(m.name, &roots.modules_dir.join(rel))?;
        }
        return Ok(());
    }
    let kallsyms = fs::read_to_string(&roots.kallsyms).unwrap_or_default();
    if kallsyms
        .lines()
        .any(|l| l.rsplit(' ').next() == Some(m.symbol))
    {
        return Ok(());
    }
    Err(FaultError::ModuleMissing {
        module: m.name,
        kernel: roots.release.clone(),
        hint: hint(&roots.release),
    })
}

fn hint(release: &str) -> String {
    format!(
        "on Debian it ships in the kernel image package (linux-image-{release}), on Ubuntu in \
         linux-modules-extra-{release}, on RHEL/Fedora in kernel-modules-extra; install it (or \
         boot a kernel built with it) and retry"
    )
}

/// `kernel/net/sched/sch_netem.ko.xz` -> `sch_netem` (dashes read as underscores, as the
/// kernel does).
fn module_name(path: &str) -> Option<String> {
    let file = path.trim().rsplit('/').next()?;
    let stem = file.split(".ko").next()?;
    (!stem.is_empty() && file.contains(".ko")).then(|| stem.replace('-', "_"))
}

/// The module's file and its dependencies' files, as `modules.dep` lists them
/// (`path: dep1 dep2`, dep1 needing dep2), module first.
fn dep_chain(dep: &str, name: &str) -> Option<Vec<String>> {
    dep.lines().find_map(|line| {
        let (path, deps) = line.split_once(':')?;
        (module_name(path).as_deref() == Some(name)).then(|| {
            std::iter::once(path.trim().to_string())
                .chain(deps.split_whitespace().map(str::to_string))
                .collect()
        })
    })
}

/// Loads one module file; already loaded is success.
fn load(name: &'static str, path: &Path) -> Result<(), FaultError> {
    let compressed = [".xz", ".zst", ".gz"]
        .iter()
        .any(|s| path.to_string_lossy().ends_with(s));
    let fail = |reason: String| FaultError::ModuleLoad {
        module: name,
        path: path.to_path_buf(),
        reason,
    };
    let file = fs::File::open(path).map_err(|e| fail(format!("open: {e}")))?;
    let flags = if compressed {
        ModuleInitFlags::from_bits_retain(MODULE_INIT_COMPRESSED_FILE)
    } else {
        ModuleInitFlags::empty()
    };
    let no_params = CString::default();
    match finit_module(&file, &no_params, flags) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        // A kernel without in-kernel decompression rejects the flag or the file: let
        // modprobe (which decompresses in user space) try.
        Err(e) if compressed => {
            modprobe(name).map_err(|m| fail(format!("finit_module: {e}; {}", error_chain(&m))))
        }
        Err(e) => Err(fail(format!("finit_module: {e}"))),
    }
}

/// `modprobe NAME`, for kernels whose `finit_module` cannot decompress the file.
fn modprobe(name: &'static str) -> Result<(), ModprobeError> {
    let program = [
        "/usr/sbin/modprobe",
        "/sbin/modprobe",
        "/usr/bin/modprobe",
        "/bin/modprobe",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .ok_or(ModprobeError::NotInstalled)?;
    let out = Command::new(program)
        .arg(name)
        .output()
        .map_err(|source| ModprobeError::Spawn { program, source })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ModprobeError::Failed {
            program,
            module: name.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(dir: &Path) -> Roots {
        fs::create_dir_all(dir.join("sys")).unwrap();
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(dir.join("kallsyms"), "ffffffff81ef4340 t tbf_enqueue\n").unwrap();
        Roots {
            sys_module: dir.join("sys"),
            modules_dir: dir.join("lib"),
            kallsyms: dir.join("kallsyms"),
            release: "6.1.0-test".into(),
        }
    }

    #[test]
    fn module_names_come_from_any_compression() {
        assert_eq!(
            module_name("kernel/net/sched/sch_netem.ko").as_deref(),
            Some("sch_netem")
        );
        assert_eq!(
            module_name("kernel/net/sched/sch_netem.ko.xz").as_deref(),
            Some("sch_netem")
        );
        assert_eq!(
            module_name("kernel/drivers/net/ifb.ko.zst").as_deref(),
            Some("ifb")
        );
        assert_eq!(module_name("kernel/x/nf-nat.ko").as_deref(), Some("nf_nat"));
        assert_eq!(module_name("README"), None);
    }

    #[test]
    fn dep_chains_list_the_module_then_its_dependencies() {
        let dep = "kernel/a/x.ko: \nkernel/net/sched/act_mirred.ko.xz: kernel/net/sched/b.ko kernel/c.ko\n";
        assert_eq!(
            dep_chain(dep, "act_mirred").unwrap(),
            [
                "kernel/net/sched/act_mirred.ko.xz",
                "kernel/net/sched/b.ko",
                "kernel/c.ko"
            ]
        );
        assert_eq!(dep_chain(dep, "x").unwrap(), ["kernel/a/x.ko"]);
        assert!(dep_chain(dep, "sch_netem").is_none());
    }

    #[test]
    fn present_built_in_and_missing_are_told_apart() {
        let t = tempfile::tempdir().unwrap();
        let r = roots(t.path());
        fs::create_dir(r.sys_module.join("sch_htb")).unwrap();
        ensure_in(SCH_HTB, &r).unwrap();
        ensure_in(SCH_TBF, &r).unwrap(); // by kallsyms
        fs::write(
            r.modules_dir.join("modules.builtin"),
            "kernel/net/sched/cls_u32.ko\n",
        )
        .unwrap();
        ensure_in(CLS_U32, &r).unwrap();
        let e = ensure_in(SCH_NETEM, &r).unwrap_err().to_string();
        assert!(e.contains("sch_netem is missing"), "{e}");
        assert!(
            e.contains("linux-image-6.1.0-test") && e.contains("kernel-modules-extra"),
            "{e}"
        );
    }

    #[test]
    fn a_listed_but_unloadable_file_is_a_load_error() {
        let t = tempfile::tempdir().unwrap();
        let r = roots(t.path());
        fs::write(
            r.modules_dir.join("modules.dep"),
            "kernel/net/sched/sch_netem.ko:\n",
        )
        .unwrap();
        let e = ensure_in(SCH_NETEM, &r).unwrap_err();
        assert!(matches!(e, FaultError::ModuleLoad { .. }), "{e}");
        assert!(e.to_string().contains("sch_netem.ko"), "{e}");
    }

    #[test]
    fn this_machine_answers_for_netem_without_panicking() {
        // On a kernel with netem this loads it; on one without (this CI host) it must be the
        // clear "missing" error, never anything else.
        match ensure(SCH_NETEM) {
            Ok(()) => {
                assert!(Path::new("/sys/module/sch_netem").exists() || has_symbol("netem_enqueue"))
            }
            Err(e) => assert!(matches!(e, FaultError::ModuleMissing { .. }), "{e}"),
        }
    }

    fn has_symbol(s: &str) -> bool {
        fs::read_to_string("/proc/kallsyms")
            .unwrap_or_default()
            .lines()
            .any(|l| l.ends_with(s))
    }
}
