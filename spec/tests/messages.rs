//! Every message the fault decoders print, pinned word for word: each case below is a bad
//! document, and `tests/messages.txt` holds what `validate` prints for it (file, line,
//! column, path, message, hint). `errors.rs` says which field and line an error must name;
//! this file keeps the wording from drifting when the decoders change shape.
//!
//! After a deliberate change of wording, regenerate the file and review its diff:
//!
//!     FAULTLINE_BLESS=1 cargo test -p faultline-spec --test messages

use std::fmt::Write;
use std::path::PathBuf;

use faultline_spec::load_str;

const NATIVE: &str =
    "apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: {name: t}\nspec:\n";
const LOCAL: &str = "  target: {local: {pid: 1}}\n  steps:\n";
const KUBE: &str = "  target: {namespaces: [a], mode: all}\n  steps:\n";
const CM: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: ";
const CM_SPEC: &str = "metadata: {name: c}\nspec:\n  mode: all\n  selector: {namespaces: [a]}\n";

/// A local step: `kind: params` held for 1s.
fn step(kind_and_params: &str) -> String {
    format!("{NATIVE}{LOCAL}    - {kind_and_params}\n      duration: 1s\n")
}

/// An instant local step (no duration).
fn once(kind_and_params: &str) -> String {
    format!("{NATIVE}{LOCAL}    - {kind_and_params}\n")
}

/// A step on pods.
fn pods(kind_and_params: &str, duration: bool) -> String {
    let d = if duration { "\n      duration: 1s" } else { "" };
    format!("{NATIVE}{KUBE}    - {kind_and_params}{d}\n")
}

/// A node step held for 1s with its own `target` (an experiment whose own target is pods).
fn nodes(kind_and_params: &str, target: &str) -> String {
    format!("{NATIVE}{KUBE}    - {kind_and_params}\n      target: {target}\n      duration: 1s\n")
}

/// A zone step held for 1s, in an experiment with no target.
fn zone(kind_and_params: &str) -> String {
    format!("{NATIVE}  steps:\n    - {kind_and_params}\n      duration: 1s\n")
}

/// A Chaos Mesh document of `kind` with `body` under `spec` (two-space indented).
fn chaos(kind: &str, body: &str) -> String {
    format!("{CM}{kind}\n{CM_SPEC}{body}")
}

fn cases() -> Vec<(&'static str, String)> {
    let net = |b: &str| chaos("NetworkChaos", &format!("  duration: 30s\n{b}"));
    let stress = |b: &str| chaos("StressChaos", &format!("  duration: 30s\n{b}"));
    vec![
        // Native: every kind, every field, the ways each goes wrong.
        ("stressCpu not a map", step("stressCpu: 5")),
        ("httpDelay empty", step("httpDelay: {}")),
        ("httpDelay delay 0", step("httpDelay: {port: 80, delay: 0s}")),
        ("httpDelay match typo", step("httpDelay: {port: 80, delay: 1s, match: {methd: GET}}")),
        ("httpAbort lower-case method", step("httpAbort: {port: 80, code: 503, match: {method: post}}")),
        ("httpAbort code out of range", step("httpAbort: {port: 80, code: 700}")),
        ("httpAbort body with 304", step("httpAbort: {port: 80, code: 304, body: x}")),
        ("httpReset direction typo", step("httpReset: {port: 80, direction: inbund}")),
        ("httpReplace nothing", step("httpReplace: {port: 80, replace: {}}")),
        ("httpReplace body and patch", step("httpReplace: {port: 80, replace: {body: x, patch: {a: 1}}}")),
        ("httpReplace patch not an object", step("httpReplace: {port: 80, replace: {patch: '[1]'}}")),
        ("stressCpu empty", step("stressCpu: {}")),
        ("stressCpu null", step("stressCpu:")),
        ("stressCpu bad types", step("stressCpu: {workers: many, load: [1]}")),
        ("stressCpu ranges", step("stressCpu: {workers: 257, load: -1}")),
        ("stressCpu load string", step("stressCpu: {workers: 1, load: '50%'}")),
        ("stressCpu load words", step("stressCpu: {workers: 1, load: half}")),
        ("stressCpu typo", step("stressCpu: {wrokers: 1, load: 5}")),
        ("stressCpu stranger", step("stressCpu: {workers: 1, load: 5, gpu: 1}")),
        ("stressCpu step field inside", step("stressCpu: {workers: 1, load: 5, duration: 1s}")),
        ("stressMemory empty", step("stressMemory: {}")),
        ("stressMemory zero", step("stressMemory: {workers: 1, size: 0}")),
        ("stressMemory bad size", step("stressMemory: {workers: 1, size: 12 parsecs}")),
        ("stressMemory bool size", step("stressMemory: {workers: 1, size: true}")),
        ("networkDelay empty", step("networkDelay: {}")),
        ("networkDelay bad values", step("networkDelay: {latency: fast, jitter: -1ms, correlation: 101}")),
        ("networkDelay list latency", step("networkDelay: {latency: [1ms]}")),
        ("networkDelay scope values", step("networkDelay: {latency: 1ms, direction: up, peers: 10.0.0.1, ports: [http], device: 'eth/0'}")),
        ("networkDelay long device", step("networkDelay: {latency: 1ms, device: averyveryverylongname}")),
        ("networkDelay empty device", step("networkDelay: {latency: 1ms, device: ''}")),
        ("networkDelay peers", step("networkDelay: {latency: 1ms, peers: [10.0.0.300, db.example.org, '']}")),
        ("networkDelay peer selector", step("networkDelay: {latency: 1ms, peerSelector: {namespaces: [a], mode: some, app: x}}")),
        ("networkDelay peer selector not a map", step("networkDelay: {latency: 1ms, peerSelector: [a]}")),
        ("networkDelay selector field at kind level", step("networkDelay: {latency: 1ms, namespaces: [a]}")),
        ("networkDelay scope field at step level", step("networkDelay: {latency: 1ms}\n      direction: to")),
        ("networkDelay typo", step("networkDelay: {latency: 1ms, jiter: 1ms}")),
        ("networkDelay stranger", step("networkDelay: {latency: 1ms, bandwidth: 1mbps}")),
        ("networkLoss empty", step("networkLoss: {}")),
        ("networkLoss bad", step("networkLoss: {loss: lots, correlation: x}")),
        ("networkDuplicate empty", step("networkDuplicate: {}")),
        ("networkDuplicate over", step("networkDuplicate: {duplicate: 200}")),
        ("networkCorrupt empty", step("networkCorrupt: {}")),
        ("networkCorrupt bad", step("networkCorrupt: {corrupt: '5', correlation: 1000}")),
        ("networkReorder empty", step("networkReorder: {}")),
        ("networkReorder bad", step("networkReorder: {reorder: x, gap: -1, latency: 1}")),
        ("networkReorder big gap", step("networkReorder: {reorder: 5, gap: 99999999999, latency: 1ms}")),
        ("networkBandwidth empty", step("networkBandwidth: {}")),
        ("networkBandwidth zero", step("networkBandwidth: {rate: 0, limit: 0, buffer: 0B}")),
        ("networkBandwidth bad", step("networkBandwidth: {rate: fast, limit: 1 lot, buffer: [1]}")),
        ("networkBandwidth typo", step("networkBandwidth: {rate: 1mbps, limit: 1KB, bufer: 1KB}")),
        ("stressCpu slice", step("stressCpu: {workers: 1, load: 50, loadSlice: 250ms}")),
        ("stressCpu slice range", step("stressCpu: {workers: 1, load: 50, loadSlice: 20s}")),
        ("stressMemory hang and score", step("stressMemory: {workers: 1, size: 1MB, hang: 1s, oomScoreAdj: 500}")),
        ("stressMemory hang zero", step("stressMemory: {workers: 1, size: 1MB, hang: 0s}")),
        ("stressMemory score range", step("stressMemory: {workers: 1, size: 1MB, oomScoreAdj: 1001}")),
        ("networkPartition host in peers", step("networkPartition: {peers: [db.example.com]}")),
        ("networkPartition hosts", step("networkPartition: {hosts: [localhost, 10.0.0.1, 'a b']}")),
        ("networkBandwidth peak alone", step("networkBandwidth: {rate: 1mbps, limit: 1KB, buffer: 1KB, peakrate: 2mbps}")),
        ("networkBandwidth minburst alone", step("networkBandwidth: {rate: 1mbps, limit: 1KB, buffer: 1KB, minburst: 1500}")),
        ("networkBandwidth peak at rate", step("networkBandwidth: {rate: 1mbps, limit: 1KB, buffer: 1KB, peakrate: 8000kbit, minburst: 1500}")),
        ("networkBandwidth peak", step("networkBandwidth: {rate: 1mbps, limit: 1KB, buffer: 1KB, peakrate: 2mbps, minburst: 1500}")),
        ("networkPartition empty", step("networkPartition: {}")),
        ("networkPartition null", step("networkPartition:")),
        ("networkPartition ports only", step("networkPartition: {ports: [80]}")),
        ("networkPartition peerPorts", step("networkPartition: {peerPorts: ['10.0.0.1:80', '10.0.0.0/8:22', '[2001:db8::1]:443', '[fd00::/8]:53']}")),
        ("networkPartition bad peerPorts", step("networkPartition: {peerPorts: [10.0.0.1, 'db.example.com:5432', '10.0.0.1:0', '10.0.0.1:x', '2001:db8::1', '']}")),
        ("networkPartition peer with a port", step("networkPartition: {peers: ['10.0.0.1:80', '[fd00::1]:80']}")),
        ("networkPartition hosts with ports", step("networkPartition: {hosts: ['db.shop.svc:5432', 'db:70000', '10.0.0.1:80']}")),
        ("networkPartition ports beside peerPorts only", step("networkPartition: {peerPorts: ['10.0.0.1:80'], ports: [443]}")),
        ("networkPartition ports beside a host on a port", step("networkPartition: {hosts: ['db:5432'], ports: [443]}")),
        ("networkBandwidth ports and peerPorts", step("networkBandwidth: {rate: 1mbps, limit: 1KB, buffer: 1KB, ports: [443], peerPorts: ['10.0.0.1:80']}")),
        ("networkPartition selector ok but bad port", step("networkPartition: {peerSelector: {namespaces: [a], mode: all}, ports: [0]}")),
        ("processKill bad signal", once("processKill: {signal: [9]}")),
        ("processKill unknown signal", once("processKill: {signal: SIGSEGV}")),
        ("processKill typo", once("processKill: {signl: KILL}")),
        ("processKill not a map", once("processKill: kill")),
        ("processPause bad method", step("processPause: {method: frezer}")),
        ("processPause stranger method", step("processPause: {method: sleep}")),
        ("podKill bad grace", pods("podKill: {gracePeriod: 5}", false)),
        ("podKill typo", pods("podKill: {grace: 5s}", false)),
        ("podKill with duration", pods("podKill: {}", true)),
        ("podFailure bad names", pods("podFailure: {containerNames: app}", true)),
        ("podFailure empty name", pods("podFailure: {containerNames: ['']}", true)),
        ("podFailure without duration", pods("podFailure: {}", false)),
        ("containerKill missing", pods("containerKill: {}", false)),
        ("containerKill empty", pods("containerKill: {containerNames: []}", false)),
        ("containerKill local", once("containerKill: {containerNames: [a]}")),
        ("diskFill empty", step("diskFill: {}")),
        ("diskFill fill and size", step("diskFill: {path: /data, fill: 90, size: 1GiB}")),
        ("diskFill relative path", step("diskFill: {path: data, fill: 90}")),
        ("diskFill path goes up", step("diskFill: {path: /data/../etc, fill: 90}")),
        ("diskFill path not a string", step("diskFill: {path: [a], fill: 90}")),
        ("diskFill fill range", step("diskFill: {path: /data, fill: 101}")),
        ("diskFill fill past the margin", step("diskFill: {path: /data, fill: 99.5}")),
        ("diskFill fill zero", step("diskFill: {path: /data, fill: 0}")),
        ("diskFill fill words", step("diskFill: {path: /data, fill: most}")),
        ("diskFill size zero", step("diskFill: {path: /data, size: 0}")),
        ("diskFill size unit", step("diskFill: {path: /data, size: 2 parsecs}")),
        ("diskFill typo", step("diskFill: {path: /data, fil: 90}")),
        ("diskFill ok", step("diskFill: {path: /data, fill: '90%'}")),
        ("ioThrottle empty", step("ioThrottle: {}")),
        ("ioThrottle device and path", step("ioThrottle: {device: '8:0', path: /data, wbps: 1MiB}")),
        ("ioThrottle bad device", step("ioThrottle: {device: sda, wbps: 1MiB}")),
        ("ioThrottle device range", step("ioThrottle: {device: '5000:0', wbps: 1MiB}")),
        ("ioThrottle relative path", step("ioThrottle: {path: data, wbps: 1MiB}")),
        ("ioThrottle no limit", step("ioThrottle: {device: '8:0'}")),
        ("ioThrottle bad rates", step("ioThrottle: {device: '8:0', rbps: fast, wbps: 0}")),
        ("ioThrottle bad iops", step("ioThrottle: {device: '8:0', riops: 0, wiops: -5}")),
        ("ioThrottle iops too large", step("ioThrottle: {device: '8:0', riops: 4294967296}")),
        ("ioThrottle typo", step("ioThrottle: {device: '8:0', wbsp: 1MiB}")),
        ("ioThrottle ok", step("ioThrottle: {path: /data, wbps: 1MiB, wiops: 100}")),
        // Node kinds: the step's target names nodes, never pods.
        ("nodeCordon pod target", nodes("nodeCordon: {}", "{namespaces: [a], labelSelectors: {app: web}, mode: all}")),
        ("nodeCordon no nodes", nodes("nodeCordon: {}", "{mode: one}")),
        ("nodeCordon local", step("nodeCordon: {}")),
        ("nodeCordon typo", nodes("nodeCordon: {force: true}", "{nodes: [n1], mode: all}")),
        ("nodeCordon not a map", nodes("nodeCordon: yes", "{nodes: [n1], mode: all}")),
        ("nodeCordon without duration", format!("{NATIVE}{KUBE}    - nodeCordon: {{}}\n      target: {{nodes: [n1], mode: all}}\n")),
        ("nodeTaint missing", nodes("nodeTaint: {}", "{nodes: [n1], mode: all}")),
        ("nodeTaint bad key", nodes("nodeTaint: {key: 'chaos monkey', effect: NoSchedule}", "{nodes: [n1], mode: all}")),
        ("nodeTaint bad key prefix", nodes("nodeTaint: {key: 'Example.com/chaos', effect: NoSchedule}", "{nodes: [n1], mode: all}")),
        ("nodeTaint long key", nodes(&format!("nodeTaint: {{key: {}, effect: NoSchedule}}", "k".repeat(64)), "{nodes: [n1], mode: all}")),
        ("nodeTaint empty key", nodes("nodeTaint: {key: '', effect: NoSchedule}", "{nodes: [n1], mode: all}")),
        ("nodeTaint bad value", nodes("nodeTaint: {key: chaos, value: '-on', effect: NoSchedule}", "{nodes: [n1], mode: all}")),
        ("nodeTaint list value", nodes("nodeTaint: {key: chaos, value: [on], effect: NoSchedule}", "{nodes: [n1], mode: all}")),
        ("nodeTaint bad effect", nodes("nodeTaint: {key: chaos, effect: noschedule}", "{nodes: [n1], mode: all}")),
        ("nodeTaint stranger effect", nodes("nodeTaint: {key: chaos, effect: Evict}", "{nodes: [n1], mode: all}")),
        ("nodeDrain timeout zero", nodes("nodeDrain: {evictionTimeout: 0s}", "{nodeSelectors: {pool: batch}, mode: one}")),
        ("nodeDrain timeout long", nodes("nodeDrain: {evictionTimeout: 1h}", "{nodeSelectors: {pool: batch}, mode: one}")),
        ("nodeDrain bad timeout", nodes("nodeDrain: {evictionTimeout: soon}", "{nodeSelectors: {pool: batch}, mode: one}")),
        ("nodeDrain bad grace", nodes("nodeDrain: {gracePeriod: 5}", "{nodeSelectors: {pool: batch}, mode: one}")),
        ("zoneOutage missing zone", zone("zoneOutage: {}")),
        ("zoneOutage empty zone", zone("zoneOutage: {zone: ''}")),
        ("zoneOutage bad zone", zone("zoneOutage: {zone: 'eu west'}")),
        ("zoneOutage bad label", zone("zoneOutage: {zone: a, label: 'topology zone'}")),
        ("zoneOutage with target", format!("{NATIVE}  steps:\n    - zoneOutage: {{zone: a}}\n      target: {{nodes: [n1], mode: all}}\n      duration: 1s\n")),
        ("step without kind", once("name: x")),
        ("step with unknown kind", once("stressGpu: {}")),
        ("step with two kinds", step("stressCpu: {workers: 1, load: 5}\n      stressMemory: {workers: 1, size: 1MB}")),
        ("step not a map", once("stressCpu")),
        // Chaos Mesh: the same fields as Chaos Mesh spells them.
        ("cm delay empty", net("  action: delay\n  delay: {}\n")),
        ("cm delay bad", net("  action: delay\n  delay: {latency: soon, jitter: x, correlation: '101'}\n")),
        ("cm delay not a map", net("  action: delay\n  delay: 10ms\n")),
        ("cm reorder empty", net("  action: delay\n  delay:\n    latency: 1ms\n    reorder: {}\n")),
        ("cm reorder bad", net("  action: delay\n  delay:\n    latency: 1ms\n    reorder: {reorder: x, correlation: y, gap: -2}\n")),
        ("cm reorder with jitter", net("  action: delay\n  delay:\n    latency: 1ms\n    jitter: 2ms\n    reorder: {reorder: '5'}\n")),
        ("cm reorder with zero jitter", net("  action: delay\n  delay:\n    latency: 1ms\n    jitter: 0ms\n    reorder: {reorder: '5', gap: 3}\n    corelation: x\n")),
        ("cm reorder with bad jitter", net("  action: delay\n  delay:\n    latency: 1ms\n    jitter: never\n    reorder: {reorder: '5'}\n")),
        ("cm loss empty", net("  action: loss\n  loss: {}\n")),
        ("cm loss bad", net("  action: loss\n  loss: {loss: x, correlation: '-1'}\n")),
        ("cm duplicate empty", net("  action: duplicate\n  duplicate: {}\n")),
        ("cm duplicate bad", net("  action: duplicate\n  duplicate: {duplicate: '200'}\n")),
        ("cm corrupt empty", net("  action: corrupt\n  corrupt: {}\n")),
        ("cm corrupt missing object", net("  action: corrupt\n")),
        ("cm bandwidth empty", net("  action: bandwidth\n  bandwidth: {}\n")),
        ("cm bandwidth zero", net("  action: bandwidth\n  bandwidth: {rate: 0, limit: 0, buffer: 0}\n")),
        ("cm bandwidth bad", net("  action: bandwidth\n  bandwidth: {rate: fast, limit: lots, buffer: '1 KB', minburst: 1}\n")),
        ("cm bandwidth peak", net("  action: bandwidth\n  bandwidth: {rate: 100kbps, limit: 100, buffer: 10000, peakrate: 1000000, minburst: 1500}\n")),
        ("cm bandwidth minburst alone", net("  action: bandwidth\n  bandwidth: {rate: 1mbps, limit: 1, buffer: 1, minburst: 1500}\n")),
        ("cm bandwidth zero peakrate", net("  action: bandwidth\n  bandwidth: {rate: 1mbps, limit: 1, buffer: 1, peakrate: 0, typo: 1}\n")),
        ("cm partition external names", net("  action: partition\n  externalTargets: [10.0.0.0/8, localhost, db.example.com]\n")),
        ("cm partition external ports", net("  action: partition\n  externalTargets: ['1.1.1.1:80', '10.0.0.0/8:22', 'example.com:443', '::1']\n")),
        ("cm partition without peers", net("  action: partition\n")),
        ("cm delay external ipv6 ports", net("  action: delay\n  delay: {latency: 10ms}\n  externalTargets: ['[2001:db8::1]:443', '[fd00::/8]', 'db.shop.svc:5432', 'localhost:0', '[10.0.0.1]:80']\n")),
        ("cm partition bad peers", net("  action: partition\n  externalTargets: [1.2.3.4/40, x]\n  direction: down\n  device: ''\n")),
        ("cm partition bad target", net("  action: partition\n  target: {mode: all}\n")),
        ("cm partition target typo", net("  action: partition\n  target: {selector: {namespaces: [b]}, mode: one, namespaces: [c]}\n")),
        ("cm network no action", net("  delay: {latency: 1ms}\n")),
        ("cm network netem", net("  action: netem\n  delay: {latency: 1ms}\n")),
        ("cm network stray objects", net("  action: loss\n  loss: {loss: '1'}\n  delay: {latency: 1ms}\n  bandwidth: {rate: 1mbps}\n")),
        ("cm network no duration", chaos("NetworkChaos", "  action: loss\n  loss: {loss: '1'}\n")),
        ("cm stress empty", stress("  stressors: {}\n")),
        ("cm stress cpu empty", stress("  stressors:\n    cpu: {}\n")),
        ("cm stress cpu bad", stress("  stressors:\n    cpu: {workers: 0, load: '101', options: ['--cpu 1']}\n")),
        ("cm stress cpu options honoured", stress("  stressors:\n    cpu: {workers: 1, load: 20, options: ['--cpu 1', '--timeout 600', '--cpu-load-slice=100', '-l 20 --timeout 30s']}\n")),
        ("cm stress cpu options refused", stress("  stressors:\n    cpu: {workers: 1, load: 100, options: ['--cpu 2', '--timeout 10', '--hdd 1', '--cpu-method fft', '--cpu-load-slice 0', '--cpu 0', '--cpu-load-slice 20000', 'fast', '--cpu-load']}\n")),
        ("cm stress cpu timeout without duration", chaos("StressChaos", "  stressors:\n    cpu: {workers: 1, load: 10, options: ['--timeout 5m']}\n")),
        ("cm stress memory options honoured", stress("  stressors:\n    memory: {workers: 2, size: 64MB, oomScoreAdj: -1000, options: ['--vm 2', '--vm-hang 2', '--vm-bytes 64MB', '--size=64MB', '--workers 2', '--vm-hang 0']}\n")),
        ("cm stress memory options refused", stress("  stressors:\n    memory: {workers: 1, size: 64MB, oomScoreAdj: 0, options: ['--vm-keep', '--time 10s', '--vm-bytes 50%', '--vm-method flip', '--workers 3', '--vm-hang soon']}\n")),
        ("cm stress memory oom range", stress("  stressors:\n    memory: {workers: 1, size: 1MB, oomScoreAdj: -1001}\n")),
        ("cm stress memory empty", stress("  stressors:\n    memory: {}\n")),
        ("cm stress memory bad", stress("  stressors:\n    memory: {workers: 300, size: 0, oomScoreAdj: -1000}\n")),
        ("cm stress memory units", stress("  stressors:\n    memory: {workers: 1, size: 1 GB}\n")),
        ("cm stress memory percent", stress("  stressors:\n    memory: {workers: 4, size: '50%'}\n")),
        ("cm stress memory no size", stress("  stressors:\n    memory: {workers: 4}\n")),
        ("cm stress both bad", stress("  stressors:\n    cpu: {workers: x}\n    memory: {size: x}\n")),
        ("cm stress refused", stress("  stressors:\n    cpu: {workers: 1, load: 1}\n  containerNames: [a]\n  stressngStressors: x\n")),
        ("cm stress no stressors", stress("")),
        ("cm stress no duration", chaos("StressChaos", "  stressors:\n    cpu: {workers: 1, load: 1}\n")),
        ("cm pod empty", chaos("PodChaos", "")),
        ("cm pod kill with names", chaos("PodChaos", "  action: pod-kill\n  containerNames: [a]\n")),
        ("cm pod kill bad grace", chaos("PodChaos", "  action: pod-kill\n  gracePeriod: 5s\n")),
        ("cm pod kill grace range", chaos("PodChaos", "  action: pod-kill\n  gracePeriod: -5\n")),
        ("cm pod failure grace", chaos("PodChaos", "  action: pod-failure\n  duration: 1m\n  gracePeriod: 5\n")),
        ("cm pod failure bad names", chaos("PodChaos", "  action: pod-failure\n  duration: 1m\n  containerNames: a\n")),
        ("cm container kill empty names", chaos("PodChaos", "  action: container-kill\n  containerNames: []\n")),
        ("cm pod action typo", chaos("PodChaos", "  action: pod-kil\n")),
        (
            "cm workflow embedded",
            chaos(
                "Workflow",
                "  entry: main\n  templates:\n    - name: main\n      templateType: NetworkChaos\n      deadline: 1m\n      networkChaos:\n        action: loss\n        mode: all\n        selector: {namespaces: [a]}\n        loss: {loss: '500'}\n",
            )
            .replace("  mode: all\n  selector: {namespaces: [a]}\n  entry", "  entry"),
        ),
        // Task steps: the container and the branch conditions.
        ("task no image", once("task: {container: {command: [true]}}")),
        ("task bad condition", once("task: {container: {image: busybox}, branches: [{when: 'stdout matches \"a\"', then: [{suspend: 1s}]}]}")),
        ("task condition types", once("task: {container: {image: busybox}, branches: [{when: 'exitCode == \"0\"', then: [{suspend: 1s}]}]}")),
        ("task condition name", once("task: {container: {image: busybox}, branches: [{when: 'exit == 0', then: [{suspend: 1s}]}]}")),
        ("task with duration", step("task: {container: {image: busybox}}")),
    ]
}

fn render() -> String {
    let mut out = String::new();
    for (name, doc) in cases() {
        let shown = match load_str(&doc, "case.yaml") {
            Ok(e) => format!("ACCEPTED: {}", serde_json::to_string(&e).unwrap()),
            Err(errs) => errs.to_string(),
        };
        writeln!(out, "## {name}\n{shown}\n").unwrap();
    }
    out
}

#[test]
fn fault_messages_are_worded_as_pinned() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/messages.txt");
    let now = render();
    if std::env::var_os("FAULTLINE_BLESS").is_some() {
        std::fs::write(&file, &now).unwrap();
        return;
    }
    let pinned = std::fs::read_to_string(&file).unwrap_or_default();
    if pinned != now {
        let first = pinned
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(pinned.lines().count().min(now.lines().count()));
        panic!(
            "fault messages differ from tests/messages.txt from line {}:\n  pinned: {}\n  now:    {}\n\
             If the change is meant, regenerate the file and review its diff:\n  \
             FAULTLINE_BLESS=1 cargo test -p faultline-spec --test messages",
            first + 1,
            pinned.lines().nth(first).unwrap_or("<end>"),
            now.lines().nth(first).unwrap_or("<end>"),
        );
    }
}
