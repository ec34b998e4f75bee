//! Every example validates; the seed's Chaos Mesh manifests translate field by field; the
//! as-printed copies fail at the line of the slip with a hint saying where the field goes.

use std::path::{Path, PathBuf};

use faultline_spec::fault::{FaultKind, PodFailure, StressCpu, StressMemory};
use faultline_spec::*;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            // as-printed/ holds the talk's broken manifests; config/ holds service config
            // files (their own test parses them: service/src/cmd/config.rs).
            if !matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("as-printed" | "config")
            ) {
                files(&p, out);
            }
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
}

fn load(rel: &str) -> Vec<Experiment> {
    load_file(&examples().join(rel)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_outside_as_printed_validates() {
    let mut all = Vec::new();
    files(&examples(), &mut all);
    assert!(all.len() >= 7, "examples found: {all:?}");
    for f in all {
        let exps =
            load_file(&f).unwrap_or_else(|e| panic!("{} does not validate:\n{e}", f.display()));
        assert!(!exps.is_empty(), "{}", f.display());
        // The native form round-trips through JSON unchanged.
        for e in exps {
            let json = serde_json::to_string(&e).unwrap();
            let back: Experiment = serde_json::from_str(&json)
                .unwrap_or_else(|err| panic!("{}: {err}\n{json}", f.display()));
            assert_eq!(back, e, "{}", f.display());
        }
    }
}

fn nginx_final(t: &Target, mode: Mode) {
    let Target::Kubernetes(sel) = t else {
        panic!("not a pod target: {t:?}")
    };
    assert_eq!(sel.namespaces, vec!["final".to_string()]);
    assert_eq!(
        sel.label_selectors.get("app").map(String::as_str),
        Some("nginx")
    );
    assert_eq!(sel.label_selectors.len(), 1);
    assert_eq!(sel.mode, mode);
}

fn only_fault(e: &Experiment) -> &FaultStep {
    assert_eq!(e.spec.steps.len(), 1, "{:?}", e.spec.steps);
    let Step::Fault(f) = &e.spec.steps[0] else {
        panic!("not a fault step: {:?}", e.spec.steps[0])
    };
    f
}

#[test]
fn verify_defaults_on_and_reads_false_or_its_values() {
    let doc = |extra: &str| {
        format!(
            "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {{name: v}}\nspec:\n  target: {{local: {{pid: 1}}}}\n  steps:\n    - stressCpu: {{workers: 1, load: 5}}\n      duration: 1s\n{extra}"
        )
    };
    let e = faultline_spec::load_str(&doc(""), "v.yaml")
        .unwrap()
        .remove(0);
    let v = only_fault(&e).verify.expect("on by default");
    assert_eq!(
        (v.within.to_string(), v.min_coverage.value()),
        ("5s".into(), 100.0)
    );
    let e = faultline_spec::load_str(&doc("      verify: false\n"), "v.yaml")
        .unwrap()
        .remove(0);
    assert_eq!(only_fault(&e).verify, None);
    let e = faultline_spec::load_str(
        &doc("      verify: {within: 2s, minCoverage: 50%}\n"),
        "v.yaml",
    )
    .unwrap()
    .remove(0);
    let v = only_fault(&e).verify.unwrap();
    assert_eq!(
        (v.within.to_string(), v.min_coverage.value()),
        ("2s".into(), 50.0)
    );
    // The step's JSON (what the store keeps) leaves the default out and says `false`.
    let json = serde_json::to_value(&e.spec.steps[0]).unwrap();
    assert_eq!(json["verify"]["minCoverage"], 50.0);
    let back: faultline_spec::Step = serde_json::from_value(json).unwrap();
    assert_eq!(back, e.spec.steps[0]);
    let off = faultline_spec::load_str(&doc("      verify: false\n"), "v.yaml")
        .unwrap()
        .remove(0);
    let json = serde_json::to_value(&off.spec.steps[0]).unwrap();
    assert_eq!(json["verify"], false);
    let on = faultline_spec::load_str(&doc(""), "v.yaml")
        .unwrap()
        .remove(0);
    assert!(
        serde_json::to_value(&on.spec.steps[0])
            .unwrap()
            .get("verify")
            .is_none()
    );
}

#[test]
fn seed_stress_cpu_translates_field_by_field() {
    let e = &load("chaos-mesh/stress-cpu.yaml")[0];
    assert_eq!(
        (e.metadata.name.as_str(), e.metadata.namespace.as_deref()),
        ("stress-cpu", Some("final"))
    );
    nginx_final(e.spec.target.as_ref().unwrap(), Mode::All);
    let f = only_fault(e);
    assert_eq!(
        f.fault,
        FaultKind::StressCpu(StressCpu {
            workers: 1,
            load: Percent::new(100.0).unwrap(),
            load_slice: None,
        })
    );
    assert_eq!(f.duration, Some(Duration::from_secs(30)));
    assert!(e.metadata.annotations["faultline.dev/source"].ends_with("StressChaos"));
}

#[test]
fn seed_stress_memory_translates_field_by_field() {
    let e = &load("chaos-mesh/stress-memory.yaml")[0];
    assert_eq!(e.metadata.name, "stress-memory");
    nginx_final(e.spec.target.as_ref().unwrap(), Mode::All);
    let f = only_fault(e);
    assert_eq!(
        f.fault,
        FaultKind::StressMemory(StressMemory {
            workers: 1,
            size: Bytes(50 * 1024 * 1024),
            hang: None,
            oom_score_adj: None,
        })
    );
    assert_eq!(f.duration, Some(Duration::from_secs(10)));
}

#[test]
fn seed_network_delay_translates_field_by_field() {
    let e = &load("chaos-mesh/network-delay.yaml")[0];
    assert_eq!(e.metadata.name, "network-delay");
    nginx_final(e.spec.target.as_ref().unwrap(), Mode::All);
    let f = only_fault(e);
    let FaultKind::NetworkDelay(d) = &f.fault else {
        panic!("{:?}", f.fault)
    };
    assert_eq!(d.latency, Duration::from_millis(10));
    assert_eq!(d.jitter, Duration::ZERO);
    assert_eq!(d.correlation, Percent::new(100.0).unwrap());
    assert_eq!(d.scope.direction, Direction::To);
    assert!(d.scope.peers.is_empty() && d.scope.peer_selector.is_none());
    assert_eq!(f.duration, Some(Duration::from_secs(30)));
}

#[test]
fn chaos_mesh_netem_becomes_one_combined_netem_field_by_field() {
    let e = &load("chaos-mesh/network-netem.yaml")[0];
    nginx_final(e.spec.target.as_ref().unwrap(), Mode::All);
    let f = only_fault(e);
    let FaultKind::NetworkNetem(n) = &f.fault else {
        panic!("{:?}", f.fault)
    };
    let pct = |v| Percent::new(v).unwrap();
    assert_eq!(
        (n.latency, n.jitter, n.delay_correlation),
        (
            Duration::from_millis(10),
            Duration::from_millis(1),
            pct(25.0)
        )
    );
    assert_eq!((n.loss, n.loss_correlation), (pct(20.0), pct(5.0)));
    assert_eq!((n.duplicate, n.corrupt), (pct(1.0), pct(2.0)));
    // Chaos Mesh hands `1mbps` to tc: one megabyte per second, 8 Mbit/s.
    assert_eq!(n.rate, Some(faultline_spec::BitRate(8_000_000)));
    assert_eq!(n.reorder, Percent::default());
    assert_eq!(f.duration, Some(Duration::from_secs(30)));
}

#[test]
fn seed_workflow_keeps_its_order_and_targets() {
    let e = &load("chaos-mesh/workflow.yaml")[0];
    assert_eq!(
        (e.metadata.name.as_str(), e.metadata.namespace.as_deref()),
        ("workflow", Some("final"))
    );
    assert_eq!(e.metadata.labels["app.kubernetes.io/managed-by"], "Helm");
    assert!(
        e.spec.target.is_none(),
        "each workflow step carries its own target"
    );
    let steps = &e.spec.steps;
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert_eq!(steps[0], Step::Suspend(Duration::from_secs(60)));
    let Step::Fault(kill) = &steps[1] else {
        panic!("{:?}", steps[1])
    };
    assert!(matches!(kill.fault, FaultKind::PodKill(_)));
    assert_eq!(kill.duration, None);
    nginx_final(kill.target.as_ref().unwrap(), Mode::All);
    let Step::Fault(fail) = &steps[2] else {
        panic!("{:?}", steps[2])
    };
    assert_eq!(fail.fault, FaultKind::PodFailure(PodFailure::default()));
    assert_eq!(fail.duration, Some(Duration::from_secs(30)));
    nginx_final(fail.target.as_ref().unwrap(), Mode::All);
}

fn as_printed(name: &str) -> SpecErrors {
    load_file(&examples().join("chaos-mesh/as-printed").join(name))
        .expect_err("as printed, it must fail")
}

#[test]
fn as_printed_stress_memory_points_at_label_selectors() {
    let errs = as_printed("stress-memory.yaml");
    let e = errs
        .errors
        .iter()
        .find(|e| e.path == "spec.labelSelectors")
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!((e.line, e.column), (14, 3), "{errs}");
    assert_eq!(e.message, "unknown field");
    assert!(
        errs.to_string().contains(
            "`labelSelectors` belongs under `spec.selector`; indent it under `selector:`"
        ),
        "{errs}"
    );
}

#[test]
fn as_printed_stress_cpu_points_at_duration() {
    let errs = as_printed("stress-cpu.yaml");
    let e = errs
        .errors
        .iter()
        .find(|e| e.path == "spec.stressors.cpu.duration")
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!(e.line, 20, "{errs}");
    let hint = e.hint.as_deref().unwrap();
    assert!(
        hint.contains("belongs under `spec`") && hint.contains("line up with `stressors:`"),
        "{hint}"
    );
}

#[test]
fn as_printed_network_delay_points_at_direction() {
    let errs = as_printed("network-delay.yaml");
    let e = errs
        .errors
        .iter()
        .find(|e| e.path == "spec.delay.direction")
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!(e.line, 22, "{errs}");
    assert!(
        e.hint.as_deref().unwrap().contains("line up with `delay:`"),
        "{errs}"
    );
}

#[test]
fn chaos_mesh_dns_chaos_becomes_dns_error_and_dns_spoof() {
    use faultline_spec::fault::{DnsAnswer, DnsType};
    let docs = load("chaos-mesh/dns-chaos.yaml");
    nginx_final(docs[0].spec.target.as_ref().unwrap(), Mode::All);
    let f = only_fault(&docs[0]);
    let FaultKind::DnsError(d) = &f.fault else {
        panic!("{:?}", f.fault)
    };
    assert_eq!(d.patterns, ["google.com", "chaos-mesh.*", "github.?om"]);
    assert_eq!(d.answer, DnsAnswer::Servfail);
    assert_eq!(d.query_types, [DnsType::A, DnsType::Aaaa]);
    assert_eq!(f.duration, Some(Duration::from_secs(90)));
    let f = only_fault(&docs[1]);
    let FaultKind::DnsSpoof(s) = &f.fault else {
        panic!("{:?}", f.fault)
    };
    assert_eq!(s.patterns, ["*"], "empty patterns are every name");
    assert!(s.random && s.addresses.is_empty());
}

#[test]
fn chaos_mesh_http_chaos_becomes_one_http_fault_per_object() {
    use faultline_spec::fault::{HttpDirection, HttpTarget};
    let docs = load("chaos-mesh/http-chaos.yaml");
    nginx_final(docs[0].spec.target.as_ref().unwrap(), Mode::All);
    let f = only_fault(&docs[0]);
    let FaultKind::HttpDelay(d) = &f.fault else {
        panic!("{:?}", f.fault)
    };
    assert_eq!(
        (d.port, d.direction, d.target),
        (80, HttpDirection::Inbound, HttpTarget::Request)
    );
    assert_eq!(d.delay, Duration::from_millis(800));
    assert_eq!(d.matching.method.as_deref(), Some("GET"));
    assert_eq!(d.matching.path.as_deref(), Some("/api/*"));
    assert_eq!(
        d.matching.headers.get("X-Tenant").map(String::as_str),
        Some("beta")
    );
    assert_eq!(f.duration, Some(Duration::from_secs(90)));
    let FaultKind::HttpAbort(a) = &only_fault(&docs[1]).fault else {
        panic!("{:?}", docs[1])
    };
    assert_eq!((a.code, a.target), (503, HttpTarget::Response));
    let FaultKind::HttpReplace(r) = &only_fault(&docs[2]).fault else {
        panic!("{:?}", docs[2])
    };
    assert_eq!(r.matching.path, None, "`path: '*'` is every path");
    assert_eq!(
        r.replace.body.as_deref(),
        Some("{\"foo\": \"bar\"}\n"),
        "base64 decoded"
    );
    assert_eq!(
        r.replace.headers.get("Content-Type").map(String::as_str),
        Some("application/json")
    );
}
