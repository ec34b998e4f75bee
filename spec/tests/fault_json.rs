//! The JSON of every fault kind, pinned: the agent protocol and the journals on disk carry
//! it, so a change to the fault types must not change a byte of it. One document per kind
//! with every field set (scope fields too), and the same as a step (the kind flattened
//! beside `name` and `duration`).

use faultline_spec::{FaultKind, Step};

/// (kind, its JSON as the types serialise it)
const PINNED: [(&str, &str); 28] = [
    (
        "stressCpu",
        r#"{"stressCpu":{"workers":2,"load":50.0,"loadSlice":"100ms"}}"#,
    ),
    (
        "stressMemory",
        r#"{"stressMemory":{"workers":1,"size":"256MB","hang":"2s","oomScoreAdj":-1000}}"#,
    ),
    (
        "networkDelay",
        r#"{"networkDelay":{"latency":"10ms","jitter":"1ms","correlation":25.0,"direction":"both","peers":["10.0.0.0/8"],"ports":[80,443],"device":"eth0","peerSelector":{"namespaces":["db"],"labelSelectors":{"app":"pg"},"mode":"all"}}}"#,
    ),
    (
        "networkLoss",
        r#"{"networkLoss":{"loss":5.0,"correlation":0.0,"direction":"to"}}"#,
    ),
    (
        "networkDuplicate",
        r#"{"networkDuplicate":{"duplicate":1.5,"correlation":10.0,"direction":"from","ports":[53]}}"#,
    ),
    (
        "networkCorrupt",
        r#"{"networkCorrupt":{"corrupt":2.0,"correlation":0.0,"direction":"to","device":"veth1"}}"#,
    ),
    (
        "networkReorder",
        r#"{"networkReorder":{"reorder":25.0,"correlation":50.0,"gap":5,"latency":"20ms","direction":"to"}}"#,
    ),
    (
        "networkNetem",
        r#"{"networkNetem":{"latency":"10ms","jitter":"1ms","delayCorrelation":25.0,"loss":20.0,"lossCorrelation":5.0,"duplicate":1.0,"duplicateCorrelation":0.0,"corrupt":2.0,"corruptCorrelation":0.0,"reorder":0.0,"reorderCorrelation":0.0,"gap":0,"rate":"1mbit","direction":"to"}}"#,
    ),
    (
        "networkBandwidth",
        r#"{"networkBandwidth":{"rate":"1mbit","limit":"20KB","buffer":"10KB","peakrate":"2mbit","minburst":"1500B","direction":"to"}}"#,
    ),
    (
        "networkPartition",
        r#"{"networkPartition":{"direction":"both","peers":["10.1.2.3/32","fd00::/8"]}}"#,
    ),
    (
        "dnsError",
        r#"{"dnsError":{"patterns":["*.example.com","api-?.svc"],"answer":"servfail","queryTypes":["A","AAAA"],"probability":50.0}}"#,
    ),
    (
        "dnsDelay",
        r#"{"dnsDelay":{"patterns":["*.example.com"],"latency":"500ms","jitter":"100ms","queryTypes":["A"],"probability":25.0}}"#,
    ),
    (
        "dnsSpoof",
        r#"{"dnsSpoof":{"patterns":["db.*"],"addresses":["192.0.2.10","2001:db8::1"],"ttl":"30s","queryTypes":["AAAA"],"probability":100.0}}"#,
    ),
    (
        "httpDelay",
        r#"{"httpDelay":{"port":8080,"direction":"outbound","match":{"method":"GET","path":"/api/","headers":{"x-user":"7"},"probability":50.0},"target":"response","delay":"250ms"}}"#,
    ),
    (
        "httpAbort",
        r#"{"httpAbort":{"port":80,"direction":"inbound","target":"request","code":503,"body":"down"}}"#,
    ),
    (
        "httpReset",
        r#"{"httpReset":{"port":80,"direction":"inbound","match":{"path":"/users/*/orders"},"target":"request"}}"#,
    ),
    (
        "httpReplace",
        r#"{"httpReplace":{"port":80,"direction":"inbound","target":"response","replace":{"headers":{"x-chaos":"1"},"patch":{"status":"degraded"}}}}"#,
    ),
    ("processKill", r#"{"processKill":{"signal":"SIGTERM"}}"#),
    ("processPause", r#"{"processPause":{"method":"freezer"}}"#),
    ("podKill", r#"{"podKill":{"gracePeriod":"5s"}}"#),
    ("podFailure", r#"{"podFailure":{"containerNames":["app"]}}"#),
    (
        "containerKill",
        r#"{"containerKill":{"containerNames":["app","sidecar"]}}"#,
    ),
    (
        "diskFill",
        r#"{"diskFill":{"path":"/var/lib/app","fill":90.0}}"#,
    ),
    (
        "ioThrottle",
        r#"{"ioThrottle":{"device":"8:0","rbps":"10MiB","wbps":"1MiB","riops":100,"wiops":50}}"#,
    ),
    ("nodeCordon", r#"{"nodeCordon":{}}"#),
    (
        "nodeTaint",
        r#"{"nodeTaint":{"key":"faultline.dev/chaos","value":"on","effect":"NoExecute"}}"#,
    ),
    (
        "nodeDrain",
        r#"{"nodeDrain":{"evictionTimeout":"2m","gracePeriod":"10s"}}"#,
    ),
    (
        "zoneOutage",
        r#"{"zoneOutage":{"zone":"eu-west-1a","label":"topology.kubernetes.io/zone"}}"#,
    ),
];

#[test]
fn every_kind_serialises_to_its_pinned_json() {
    let names: Vec<_> = PINNED.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        FaultKind::ALL_NAMES,
        "one pinned document per kind, in order"
    );
    for (kind, json) in PINNED {
        let f: FaultKind = serde_json::from_str(json).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(f.name(), kind);
        assert_eq!(serde_json::to_string(&f).unwrap(), json, "{kind}");
    }
}

#[test]
fn defaults_are_filled_in_and_written_out_as_before() {
    for (json, written) in [
        (
            r#"{"networkDelay":{"latency":"10ms"}}"#,
            r#"{"networkDelay":{"latency":"10ms","jitter":"0s","correlation":0.0,"direction":"to"}}"#,
        ),
        (
            r#"{"networkReorder":{"reorder":5,"latency":"1ms"}}"#,
            r#"{"networkReorder":{"reorder":5.0,"correlation":0.0,"gap":0,"latency":"1ms","direction":"to"}}"#,
        ),
        (
            r#"{"processKill":{}}"#,
            r#"{"processKill":{"signal":"SIGKILL"}}"#,
        ),
        (
            r#"{"processPause":{}}"#,
            r#"{"processPause":{"method":"signal"}}"#,
        ),
        // Journals written before loadSlice, hang, oomScoreAdj, peakrate and minburst
        // existed read as before, and are written back the same.
        (
            r#"{"stressCpu":{"workers":2,"load":50.0}}"#,
            r#"{"stressCpu":{"workers":2,"load":50.0}}"#,
        ),
        (
            r#"{"stressMemory":{"workers":1,"size":"256MB"}}"#,
            r#"{"stressMemory":{"workers":1,"size":"256MB"}}"#,
        ),
        // Journals written before peakrate/minburst existed read as a plain rate limit;
        // their `1mbps` meant one megabit per second, and still does (written in bits).
        (
            r#"{"networkBandwidth":{"rate":"1mbps","limit":"20KB","buffer":"10KB","direction":"to"}}"#,
            r#"{"networkBandwidth":{"rate":"1mbit","limit":"20KB","buffer":"10KB","direction":"to"}}"#,
        ),
        (
            r#"{"networkNetem":{"rate":"256kbps","latency":"1ms"}}"#,
            r#"{"networkNetem":{"latency":"1ms","jitter":"0s","delayCorrelation":0.0,"loss":0.0,"lossCorrelation":0.0,"duplicate":0.0,"duplicateCorrelation":0.0,"corrupt":0.0,"corruptCorrelation":0.0,"reorder":0.0,"reorderCorrelation":0.0,"gap":0,"rate":"256kbit","direction":"to"}}"#,
        ),
        (r#"{"podKill":{}}"#, r#"{"podKill":{}}"#),
        (r#"{"podFailure":{}}"#, r#"{"podFailure":{}}"#),
        (
            r#"{"nodeTaint":{"key":"chaos","effect":"NoSchedule"}}"#,
            r#"{"nodeTaint":{"key":"chaos","effect":"NoSchedule"}}"#,
        ),
        (r#"{"nodeDrain":{}}"#, r#"{"nodeDrain":{}}"#),
        (
            r#"{"zoneOutage":{"zone":"b"}}"#,
            r#"{"zoneOutage":{"zone":"b","label":"topology.kubernetes.io/zone"}}"#,
        ),
    ] {
        // Read as the journal reads a line: JSON faultline wrote goes through the upgrade.
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        faultline_spec::legacy::upgrade_rates(&mut v);
        let f: FaultKind = serde_json::from_value(v).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(serde_json::to_string(&f).unwrap(), written, "{json}");
    }
}

/// Rates are written in bits, which every version reads the same way; a `bps` rate in a
/// request body (not stored JSON) is tc's bytes per second, as in a spec.
#[test]
fn rates_are_written_in_bits_and_bps_in_a_request_is_bytes() {
    let f: FaultKind = serde_json::from_str(
        r#"{"networkBandwidth":{"rate":"1mbps","limit":"1KB","buffer":"1KB"}}"#,
    )
    .unwrap();
    let FaultKind::NetworkBandwidth(b) = &f else {
        panic!("{f:?}")
    };
    assert_eq!(b.rate, faultline_spec::BitRate(8_000_000));
    assert!(
        serde_json::to_string(&f)
            .unwrap()
            .contains(r#""rate":"8mbit""#)
    );
    // What a faultline that read `1mbps` as bits wrote, upgraded as the journal does.
    assert_eq!(
        faultline_spec::legacy::old_rate("1mbps"),
        Some(faultline_spec::BitRate(1_000_000))
    );
}

#[test]
fn required_fields_and_unknown_fields_are_refused_as_before() {
    for json in [
        r#"{"stressCpu":{"workers":1}}"#,
        r#"{"stressMemory":{"size":"1MB"}}"#,
        r#"{"networkDelay":{}}"#,
        r#"{"networkReorder":{"reorder":5}}"#,
        r#"{"networkBandwidth":{"rate":"1mbps","limit":"1KB"}}"#,
        r#"{"containerKill":{}}"#,
        r#"{"nodeTaint":{"key":"chaos"}}"#,
        r#"{"nodeTaint":{"key":"chaos","effect":"NoWhere"}}"#,
        r#"{"zoneOutage":{}}"#,
        r#"{"nodeCordon":{"force":true}}"#,
        r#"{"stressCpu":{"workers":1,"load":5,"extra":1}}"#,
        r#"{"processKill":{"signal":"SIGWHAT"}}"#,
        r#"{"stressGpu":{}}"#,
    ] {
        assert!(serde_json::from_str::<FaultKind>(json).is_err(), "{json}");
    }
}

#[test]
fn a_fault_step_carries_the_kind_beside_its_timing() {
    for (kind, json) in PINNED {
        let inner = &json[1..json.len() - 1];
        let step = format!(r#"{{"name":"s",{inner},"duration":"30s"}}"#);
        let s: Step = serde_json::from_str(&step).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let Step::Fault(f) = &s else {
            panic!("{kind}: not a fault step: {s:?}")
        };
        assert_eq!(f.fault.name(), kind);
        assert_eq!(serde_json::to_string(&s).unwrap(), step, "{kind}");
    }
}

#[test]
fn unknown_fields_beside_a_traffic_scope_are_refused_too() {
    let json = r#"{"networkDelay":{"latency":"1ms","bogus":1}}"#;
    assert!(serde_json::from_str::<FaultKind>(json).is_err(), "{json}");
}

#[test]
fn the_agent_s_and_the_service_s_kinds_serialise_as_the_spec_s() {
    use faultline_spec::{NodeFault, PodFault};
    let (mut node, mut pod) = (0, 0);
    for (kind, json) in PINNED {
        let f: FaultKind = serde_json::from_str(json).unwrap();
        match (f.to_node(), f.to_pod()) {
            (Some(n), None) => {
                node += 1;
                assert_eq!(n.name(), kind);
                assert_eq!(serde_json::to_string(&n).unwrap(), json, "{kind}");
                let back: NodeFault = serde_json::from_str(json).unwrap();
                assert_eq!(FaultKind::from(back), f, "{kind}");
            }
            (None, Some(p)) => {
                pod += 1;
                assert_eq!(p.name(), kind);
                assert_eq!(serde_json::to_string(&p).unwrap(), json, "{kind}");
                let back: PodFault = serde_json::from_str(json).unwrap();
                assert_eq!(FaultKind::from(back), f, "{kind}");
                assert!(serde_json::from_str::<NodeFault>(json).is_err(), "{kind}");
            }
            other => panic!("{kind} is in neither or both: {other:?}"),
        }
    }
    assert_eq!(
        (node, pod),
        (NodeFault::ALL_NAMES.len(), PodFault::ALL_NAMES.len())
    );
    assert_eq!(
        PodFault::ALL_NAMES,
        [
            "podKill",
            "podFailure",
            "nodeCordon",
            "nodeTaint",
            "nodeDrain",
            "zoneOutage"
        ]
    );
}

/// `validate --explain` prints a fault as these types serialise it: the keys it lists are
/// the declared fields (own and traffic scope), every required one among them.
#[test]
fn the_printed_fields_are_the_declared_ones() {
    for (kind, json) in PINNED {
        let f: FaultKind = serde_json::from_str(json).unwrap();
        let decl = f.decl();
        let declared: Vec<_> = decl
            .fields
            .iter()
            .chain(decl.scope.unwrap_or_default())
            .collect();
        let value = serde_json::to_value(&f).unwrap();
        let printed = value[kind].as_object().unwrap();
        for key in printed.keys() {
            assert!(
                declared.iter().any(|d| d.name == key),
                "{kind}: `{key}` is printed but not declared"
            );
        }
        for d in declared.iter().filter(|d| d.required()) {
            assert!(
                printed.contains_key(d.name),
                "{kind}: required `{}` is not printed",
                d.name
            );
        }
    }
}

/// `peerPorts` and hosts with a port are new: each an optional list of strings, written as
/// the user wrote them and left out when empty, so the documents above read and write as
/// before (their scopes have neither).
#[test]
fn peer_ports_and_hosts_with_ports_are_strings_beside_the_scope() {
    let json = r#"{"networkPartition":{"direction":"to","peers":["10.1.2.3/32"],"peerPorts":["10.0.0.1:80","10.0.0.0/8:22","[2001:db8::1]:443"],"hosts":["db.shop.svc:5432","cache"]}}"#;
    let f: FaultKind = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&f).unwrap(), json);
    let FaultKind::NetworkPartition(p) = &f else {
        panic!("{f:?}")
    };
    assert_eq!(p.scope.peer_ports[1].peer.to_string(), "10.0.0.0/8");
    assert_eq!(p.scope.peer_ports[2].port, 443);
    assert_eq!(p.scope.hosts[0].port, Some(5432));
    assert_eq!(p.scope.hosts[1].port, None);
    for bad in [
        r#"{"networkPartition":{"peerPorts":["10.0.0.1"]}}"#,
        r#"{"networkPartition":{"peerPorts":["10.0.0.1:0"]}}"#,
        r#"{"networkPartition":{"hosts":["10.0.0.1:80"]}}"#,
    ] {
        assert!(serde_json::from_str::<FaultKind>(bad).is_err(), "{bad}");
    }
}
