//! Chaos Mesh's units, imported with the meaning Chaos Mesh gives them: rates as `tc` reads
//! them (Chaos Mesh hands the string to `tc`), memory sizes as its memStress reads them.

use faultline_spec::{BitRate, Bytes, Experiment, FaultKind, Step, load_str};

fn import(kind: &str, body: &str) -> Result<Experiment, String> {
    let text = format!(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: {kind}\nmetadata: {{name: c}}\nspec:\n  mode: all\n  selector: {{namespaces: [a]}}\n  duration: 30s\n{body}"
    );
    load_str(&text, "c.yaml")
        .map(|mut v| v.remove(0))
        .map_err(|e| e.to_string())
}

fn fault(e: &Experiment) -> &FaultKind {
    match &e.spec.steps[0] {
        Step::Fault(f) => &f.fault,
        other => panic!("{other:?}"),
    }
}

fn bandwidth(rate: &str, peakrate: &str) -> (BitRate, Option<BitRate>) {
    let minburst = if peakrate == "0" { 0 } else { 1500 };
    let e = import(
        "NetworkChaos",
        &format!(
            "  action: bandwidth\n  bandwidth: {{rate: '{rate}', limit: 20971520, buffer: 10000, peakrate: {peakrate}, minburst: {minburst}}}\n"
        ),
    )
    .unwrap();
    let FaultKind::NetworkBandwidth(b) = fault(&e) else {
        panic!("{e:?}")
    };
    (b.rate, b.peakrate)
}

#[test]
fn bandwidth_rates_are_tcs() {
    // bps is bytes per second (Chaos Mesh's own API doc says so; tc reads it so).
    assert_eq!(bandwidth("1mbps", "0").0, BitRate(8_000_000));
    assert_eq!(bandwidth("200kbps", "0").0, BitRate(1_600_000));
    assert_eq!(bandwidth("1mbit", "0").0, BitRate(1_000_000));
    assert_eq!(bandwidth("1Mibit", "0").0, BitRate(1 << 20));
    assert_eq!(bandwidth("1KiBps", "0").0, BitRate(8 * 1024));
    assert_eq!(
        bandwidth("100000", "0").0,
        BitRate(100_000),
        "a bare number is bits"
    );
    // peakrate is a uint64 Chaos Mesh prints bare: bits per second.
    assert_eq!(
        bandwidth("1mbps", "9000000"),
        (BitRate(8_000_000), Some(BitRate(9_000_000)))
    );
}

#[test]
fn netem_rate_is_tcs() {
    let e = import(
        "NetworkChaos",
        "  action: netem\n  delay: {latency: 10ms}\n  rate: {rate: '1mbps'}\n",
    )
    .unwrap();
    let FaultKind::NetworkNetem(n) = fault(&e) else {
        panic!("{e:?}")
    };
    assert_eq!(n.rate, Some(BitRate(8_000_000)));
    // --explain and the JSON say it in bits, which reads back the same.
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains(r#""rate":"8mbit""#), "{json}");
}

fn memory(body: &str) -> Result<(u32, Bytes), String> {
    let e = import(
        "StressChaos",
        &format!("  stressors:\n    memory: {body}\n"),
    )?;
    let FaultKind::StressMemory(m) = fault(&e) else {
        panic!("{e:?}")
    };
    Ok((m.workers, m.size))
}

/// Chaos Mesh v2.8.3 runs memStress v0.3.1 for the memory stressor; memStress divides
/// `size` among its workers, so `size` is the total, which is faultline's `size` too.
#[test]
fn memory_size_is_the_total_for_all_workers_as_memstress_reads_it() {
    assert_eq!(
        memory("{workers: 4, size: '256MB'}").unwrap(),
        (4, Bytes(256_000_000)),
        "256MB in all, 64MB per worker"
    );
    // go-humanize, which memStress parses with: MB decimal, MiB binary.
    assert_eq!(
        memory("{workers: 1, size: '1GiB'}").unwrap().1,
        Bytes(1 << 30)
    );
    assert_eq!(
        memory("{workers: 2, size: '512KB'}").unwrap().1,
        Bytes(512_000)
    );
    assert_eq!(
        memory("{workers: 2, size: '100MiB'}").unwrap().1,
        Bytes(100 << 20)
    );
}

#[test]
fn explain_shows_the_native_total() {
    let e = import(
        "StressChaos",
        "  stressors:\n    memory: {workers: 4, size: '256MB'}\n",
    )
    .unwrap();
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        json.contains(r#""stressMemory":{"workers":4,"size":"256MB"}"#),
        "{json}"
    );
}

#[test]
fn a_share_of_memory_or_no_size_is_refused_saying_why() {
    let e = memory("{workers: 4, size: '50%'}").unwrap_err();
    assert!(
        e.contains("spec.stressors.memory.size") && e.contains("share of memory"),
        "{e}"
    );
    let e = memory("{workers: 4}").unwrap_err();
    assert!(
        e.contains("spec.stressors.memory.size") && e.contains("allocates nothing"),
        "{e}"
    );
    assert_eq!(
        e.matches("spec.stressors.memory.size").count(),
        1,
        "said once: {e}"
    );
}
