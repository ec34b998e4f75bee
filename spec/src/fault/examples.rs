//! Where each fault kind's worked example is: a file under `examples/` that uses the kind,
//! linked from the kind's section of `docs/faults.md`. Data only (the spec does no I/O);
//! `tests/kind_coverage.rs` fails when a kind of [`FaultKind::ALL_NAMES`] has no entry,
//! when the file does not use the kind, or when the page lacks the link.
//!
//! [`FaultKind::ALL_NAMES`]: super::FaultKind::ALL_NAMES

/// (kind, example file from the repository root), in the order of the declarations.
pub const WORKED_EXAMPLES: &[(&str, &str)] = &[
    ("stressCpu", "examples/native/checkout-under-stress.yaml"),
    ("stressMemory", "examples/native/checkout-under-stress.yaml"),
    (
        "networkDelay",
        "examples/native/local-netns-and-process.yaml",
    ),
    ("networkLoss", "examples/native/nightly-bandwidth.json"),
    ("networkDuplicate", "examples/native/packet-faults.yaml"),
    ("networkCorrupt", "examples/native/packet-faults.yaml"),
    ("networkReorder", "examples/native/packet-faults.yaml"),
    ("networkNetem", "examples/native/netem-combined.yaml"),
    ("networkBandwidth", "examples/native/nightly-bandwidth.json"),
    (
        "networkPartition",
        "examples/native/local-netns-and-process.yaml",
    ),
    ("dnsError", "examples/native/dns-faults.yaml"),
    ("dnsDelay", "examples/native/dns-faults.yaml"),
    ("dnsSpoof", "examples/native/dns-faults.yaml"),
    ("httpDelay", "examples/native/http-faults.yaml"),
    ("httpAbort", "examples/native/http-faults.yaml"),
    ("httpReset", "examples/native/http-faults.yaml"),
    ("httpReplace", "examples/native/http-faults.yaml"),
    ("processKill", "examples/native/kills-and-cordon.yaml"),
    (
        "processPause",
        "examples/native/local-netns-and-process.yaml",
    ),
    ("podKill", "examples/native/checkout-under-stress.yaml"),
    ("podFailure", "examples/native/checkout-under-stress.yaml"),
    ("containerKill", "examples/native/kills-and-cordon.yaml"),
    ("diskFill", "examples/native/disk-pressure.yaml"),
    ("ioThrottle", "examples/native/disk-pressure.yaml"),
    ("nodeCordon", "examples/native/kills-and-cordon.yaml"),
    ("nodeTaint", "examples/native/node-drain-and-zone.yaml"),
    ("nodeDrain", "examples/native/node-drain-and-zone.yaml"),
    ("zoneOutage", "examples/native/node-drain-and-zone.yaml"),
];

/// The worked example of `kind`, if it has one.
pub fn worked_example(kind: &str) -> Option<&'static str> {
    WORKED_EXAMPLES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, file)| *file)
}
