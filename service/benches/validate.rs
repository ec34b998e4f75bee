//! How long `validate` takes on big specs: generates ~1 MiB native and Chaos Mesh files and
//! times `load_str` on each (goal: well under a second). Prints a table.
//!
//! `cargo bench -p faultline --bench validate`

use std::time::Instant;

use faultline_spec::load_str;

fn native(bytes: usize) -> String {
    let mut s = String::from(
        "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: big}\nspec:\n  target: {namespaces: [final], labelSelectors: {app: nginx}, mode: all}\n  steadyState:\n    - {name: a, prometheus: up, expect: \">= 1\"}\n  steps:\n",
    );
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "    - name: s{i}\n      networkDelay: {{latency: {}ms, jitter: 1ms, correlation: 25, direction: to, peers: [10.0.{}.0/24]}}\n      duration: 30s\n    - parallel:\n        - stressCpu: {{workers: 2, load: 80}}\n          duration: 10s\n        - stressMemory: {{workers: 1, size: 50MiB}}\n          duration: 10s\n",
            i % 1000,
            i % 250
        ));
        i += 1;
    }
    s
}

fn chaos_mesh(bytes: usize) -> String {
    let doc = include_str!("../../examples/chaos-mesh/network-delay.yaml");
    let mut s = String::new();
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&doc.replace("name: network-delay", &format!("name: network-delay-{i}")));
        s.push_str("\n---\n");
        i += 1;
    }
    s
}

fn main() {
    println!("| input | size | experiments | best of 5 | ok |");
    println!("|---|---|---|---|---|");
    for (name, text) in [
        ("native, one spec", native(1 << 20)),
        ("Chaos Mesh, multi-doc", chaos_mesh(1 << 20)),
    ] {
        let mut best = f64::MAX;
        let mut n = 0;
        let mut ok = false;
        for _ in 0..5 {
            let t = Instant::now();
            let r = load_str(&text, "bench.yaml");
            best = best.min(t.elapsed().as_secs_f64());
            ok = r.is_ok();
            n = r.map(|v| v.len()).unwrap_or(0);
        }
        println!(
            "| {name} | {:.2} MiB | {n} | {:.0} ms | {ok} |",
            text.len() as f64 / (1 << 20) as f64,
            best * 1e3
        );
    }
}
