//! Target resolution against real processes, cgroups and netns made by the test, as root.

use faultline_agent::FaultError;
use faultline_agent::cgroup::TestCgroup;
use faultline_agent::resolve::resolve;
use faultline_spec::LocalTarget;
use faultline_test_support::{Netns, Proc, unique};

/// A 64-hex container ID unique to this test process.
fn container_id(salt: u32) -> String {
    let seed = format!("{:08x}{:08x}", std::process::id(), salt);
    seed.repeat(4)
}

#[test]
fn pid_name_and_cgroup_find_the_same_process_and_dirs() {
    let cg = TestCgroup::create(&unique("res"), &["cpu", "cpuacct", "memory"], true).unwrap();
    let argv0 = unique("proc");
    let sleep = Proc::sleep_named(&argv0);
    cg.add(sleep.pid()).unwrap();

    let by_pid = resolve(&LocalTarget::Pid(sleep.pid())).unwrap();
    for d in &cg.dirs {
        assert!(
            by_pid.cgroups.iter().any(|c| c.path == d.path),
            "{} missing from {:?}",
            d.path.display(),
            by_pid.cgroups
        );
    }
    assert_eq!(
        by_pid.netns.unwrap(),
        std::path::PathBuf::from(format!("/proc/{}/ns/net", sleep.pid()))
    );

    let by_name = resolve(&LocalTarget::ProcessName(argv0)).unwrap();
    assert_eq!(by_name.procs, by_pid.procs);

    for t in [
        cg.path.clone(),
        cg.dir("memory").unwrap().display().to_string(),
    ] {
        let by_cg = resolve(&LocalTarget::Cgroup(t.clone().into())).unwrap();
        assert_eq!(by_cg.procs, by_pid.procs, "{t}");
        assert_eq!(
            by_cg.cgroups.len(),
            cg.dirs.len(),
            "{t}: {:?}",
            by_cg.cgroups
        );
        assert_eq!(by_cg.netns, None);
    }
    let absent = unique("absent");
    let err = resolve(&LocalTarget::Cgroup(format!("/{absent}").into())).unwrap_err();
    assert!(matches!(err, FaultError::TargetNotFound(_)), "{err}");
    let err = resolve(&LocalTarget::ProcessName(absent.clone())).unwrap_err();
    assert!(err.to_string().contains(&absent), "{err}");
}

#[test]
fn named_netns_resolve_and_others_are_refused() {
    let ns = Netns::new("ns");
    let r = resolve(&LocalTarget::Netns(ns.name.clone())).unwrap();
    assert_eq!(
        r.netns.unwrap(),
        std::path::PathBuf::from(format!("/run/netns/{}", ns.name))
    );
    assert!(r.procs.is_empty() && r.cgroups.is_empty());
    let r = resolve(&LocalTarget::Netns(format!("/run/netns/{}", ns.name))).unwrap();
    assert!(r.netns.is_some());
    let err = resolve(&LocalTarget::Netns(unique("nons"))).unwrap_err();
    assert!(matches!(err, FaultError::TargetNotFound(_)), "{err}");
    let err = resolve(&LocalTarget::Netns("/etc/hostname".into())).unwrap_err();
    assert!(matches!(err, FaultError::InvalidTarget { .. }), "{err}");
}

#[test]
fn container_ids_are_found_in_runtime_cgroup_paths() {
    // Fake containers: cgroups named like containerd's (systemd driver) and Docker's
    // (cgroupfs driver), each holding a process.
    let a = container_id(1);
    let b = container_id(2);
    let ca = TestCgroup::create(
        &format!("{}/cri-containerd-{a}.scope", unique("pods")),
        &["cpu", "memory"],
        true,
    )
    .unwrap();
    let cb = TestCgroup::create(
        &format!("{}/docker/{b}", unique("pods2")),
        &["memory"],
        true,
    )
    .unwrap();
    let sa = Proc::sleep();
    let sb = Proc::sleep();
    ca.add(sa.pid()).unwrap();
    cb.add(sb.pid()).unwrap();

    let r = resolve(&LocalTarget::ContainerId(a[..12].to_string() + &a[12..20])).unwrap();
    assert_eq!(
        r.procs.iter().map(|p| p.pid).collect::<Vec<_>>(),
        [sa.pid()]
    );
    assert!(
        r.cgroups
            .iter()
            .any(|c| c.path == ca.dir("memory").unwrap()),
        "{:?}",
        r.cgroups
    );
    assert_eq!(
        r.netns.unwrap(),
        std::path::PathBuf::from(format!("/proc/{}/ns/net", sa.pid()))
    );
    let r = resolve(&LocalTarget::ContainerId(b.clone())).unwrap();
    assert_eq!(r.procs[0].pid, sb.pid());
    // Both IDs start with this process's PID: a 12-digit prefix of it names both.
    let err = resolve(&LocalTarget::ContainerId(a[..12].to_string())).unwrap_err();
    assert!(
        matches!(err, FaultError::AmbiguousTarget { ref matches, .. } if matches.len() == 2),
        "{err}"
    );
    let err = resolve(&LocalTarget::ContainerId(container_id(3))).unwrap_err();
    assert!(matches!(err, FaultError::TargetNotFound(_)), "{err}");
}
