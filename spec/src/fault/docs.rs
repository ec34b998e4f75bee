//! `docs/faults.md`: every kind's fields, types, defaults and docs, written from the
//! declarations, so the page cannot drift from what the decoder accepts. `tests/docs.rs`
//! fails when the committed page differs and says how to regenerate it.

use std::fmt::Write;

use super::decl::{ChaosMesh, Executor, FieldDecl, KindDecl, Targets};
use super::kinds::KINDS;
use super::params::Params;
use super::scope::NetworkScope;

/// The command that regenerates the page.
pub const REGENERATE: &str = "FAULTLINE_BLESS=1 cargo test -p faultline-spec --test docs";

/// The whole page.
pub fn markdown() -> String {
    let mut out = String::new();
    let _ = write_page(&mut out);
    out
}

fn write_page(out: &mut String) -> std::fmt::Result {
    writeln!(out, "# Fault kinds")?;
    writeln!(out)?;
    writeln!(
        out,
        "<!-- Generated from spec/src/fault/kinds.rs; do not edit. Regenerate with: {REGENERATE} -->"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "A fault step names one kind as a key, its fields as a map, beside the step's own \
         `name`, `duration` and `target`:"
    )?;
    writeln!(out)?;
    writeln!(out, "```yaml")?;
    writeln!(out, "steps:")?;
    writeln!(out, "  - networkDelay: {{ latency: 50ms, jitter: 5ms }}")?;
    writeln!(out, "    duration: 30s")?;
    writeln!(out, "```")?;
    writeln!(out)?;
    writeln!(
        out,
        "A field without a default must be given. Instant kinds happen once and take no \
         `duration`; the others hold for the step's `duration` and are then recovered. The \
         Chaos Mesh column is where an imported manifest keeps the same value, under `spec`; \
         docs/chaos-mesh.md says what each Chaos Mesh kind becomes and what is refused."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**Units.** Rates (`rate`, `peakrate`) are read exactly as `tc` reads them, because \
         Chaos Mesh hands its rate strings to `tc` unchanged; a native spec means the same. \
         `bit`, `kbit`, `mbit`, `gbit`, `tbit` are bits per second (steps of 1000; `kibit`, \
         `mibit`, `gibit`, `tibit` step by 1024); `bps`, `kbps`, `mbps`, `gbps`, `tbps` are \
         BYTES per second (`1mbps` is 8 Mbit/s; `kibps`, `mibps`... step by 1024); a bare \
         number is bits per second; case does not matter. `validate --explain` and the JSON \
         print rates in bits (`1mbps` shows as `8mbit`). Sizes: `KB`, `MB`, `GB`, `TB` are \
         powers of 1000 and `KiB`, `MiB`, `GiB`, `TiB` powers of 1024, as Chaos Mesh's \
         memStress (go-humanize) reads them; a bare number is bytes. Before this reading, \
         faultline took `1mbps` as one megabit per second: a native spec written that way \
         now asks for 8 times the rate, so write `1mbit` to keep it. Journals and stored \
         requests written then keep their meaning (their `bps` rates are read as bits)."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**Without `duration`.** A Chaos Mesh StressChaos or NetworkChaos without `duration` \
         lasts until its object is deleted. It imports as a step with `untilAborted: true` and \
         no `duration`: the fault holds until the run is aborted (`faultline run` Ctrl-C, the \
         API's abort, the emergency stop) or until `guard.maxDuration` has passed, whichever \
         comes first; reaching the bound recovers the fault and the run goes on. Unset, \
         `guard.maxDuration` is the service's `maxDuration` setting (`serve --max-duration`, \
         `FAULTLINE_MAX_DURATION`), default 1h. `faultline validate` warns once per \
         experiment (exit code 0), and the run's events carry a note when the step starts. \
         The fault's lease and the agent's journal bound it even if the service dies. A \
         native step may say `untilAborted: true` too; one without either still needs a \
         `duration`."
    )?;
    writeln!(out)?;
    writeln!(out, "```yaml")?;
    writeln!(out, "guard: {{ maxDuration: 30m }}")?;
    writeln!(out, "steps:")?;
    writeln!(out, "  - stressCpu: {{ workers: 2, load: 80 }}")?;
    writeln!(out, "    untilAborted: true")?;
    writeln!(out, "```")?;
    writeln!(out)?;
    writeln!(
        out,
        "**A group's `deadline`.** `serial:` and `parallel:` steps take a `deadline` (a Chaos \
         Mesh Workflow's `deadline` on a Serial or Parallel template imports as it). When it \
         passes, the children still holding a fault are recovered, those not yet started are \
         skipped, a note says so, and the run goes on with the next step: the group ends, the \
         run does not fail. A child's own `duration` still holds when it is shorter."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**`repeat:`.** A step that starts one step at each time of a schedule (`@every 2s`, a \
         descriptor like `@hourly`, or cron in UTC) until its `deadline`, an enclosing group's, \
         or else `guard.maxDuration`; at the bound the instances still holding a fault are \
         recovered. `concurrencyPolicy: Forbid` (the default) skips a time while the previous \
         instance still runs; `Allow` starts one beside it. A Chaos Mesh Workflow's \
         `templateType: Schedule` node imports as it, with the node's `deadline`. See \
         docs/schedules.md."
    )?;
    writeln!(out)?;
    writeln!(out, "```yaml")?;
    writeln!(out, "steps:")?;
    writeln!(out, "  - repeat:")?;
    writeln!(out, "      schedule: \"@every 30s\"")?;
    writeln!(out, "      step: {{ podKill: {{}} }}")?;
    writeln!(out, "    deadline: 5m")?;
    writeln!(out, "```")?;
    writeln!(out)?;
    writeln!(
        out,
        "**StressChaos `stressors.memory.size`.** The total for all workers, as in \
         `stressMemory`: Chaos Mesh v2.8.3 runs memStress (v0.3.1) for this stressor, which \
         splits `size` among its `workers` (its API doc's \"N bytes consumed per vm worker\" \
         dates from when stress-ng's `--vm-bytes` ran it). `workers: 4, size: 256MB` imports \
         as `stressMemory: {{ workers: 4, size: 256MB }}`: 64 MB per worker, 256 MB in all, \
         which `validate --explain` shows. `MB` is 1000² bytes and `MiB` 1024², as memStress \
         (go-humanize) reads them. A share of memory (`50%`) is refused: faultline sizes its \
         workers in bytes. A missing `size` is refused too: memStress then allocates nothing \
         (its default is `0KB`, although the API doc says all available memory), and a \
         fault that does nothing is an error."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**StressChaos `options`.** `stressors.cpu.options` and `stressors.memory.options` \
         are read flag by flag (`--flag value`, `--flag=value` or a bare `--flag`; one item \
         may hold several). Honoured: `--cpu-load-slice MS` (`loadSlice`), `--vm-hang S` \
         (`hang`; 0 is the default hold). `--cpu`, `--cpu-load`, `--vm`/`--workers` and \
         `--vm-bytes`/`--size` repeat a field and must agree with it: stress-ng would take \
         the option, faultline asks for one value. `--timeout T` is accepted when it is at \
         least the chaos's `duration` (the fault's duration always ends the stress: a \
         stressor never outlives its fault, nor ends before it) and refused otherwise, with \
         the `duration` to write. Every other flag (`--cpu-method`, `--hdd`, `--vm-keep`, \
         memStress's `--time`, ...) is refused by name with why. `oomScoreAdj` is set on the \
         stress workers only (0 leaves it alone, as in Chaos Mesh); a score below the agent's \
         own needs CAP_SYS_RESOURCE, which a privileged agent has, and the fault is refused \
         saying so when the agent lacks it."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**NetworkChaos `externalTargets`.** Addresses and CIDRs become `peers`; an address \
         or CIDR with a port (`1.1.1.1:80`, `10.0.0.0/8:22`, `[2001:db8::1]:443`) becomes \
         one of `peerPorts`, that peer on that port only; host names, with or without a \
         port, become `hosts`, which the service resolves when the step is injected (not at \
         validate), adding the addresses to `peers` (with a port: to `peerPorts`) and \
         noting them on the run; a name that does not resolve fails the step. \
         `bandwidth.peakrate` (a bare number is \
         bits per second, as `tc` reads it) and `bandwidth.minburst` set tbf's peak bucket; 0 \
         means none, as in Chaos Mesh."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "**`verify:`: did the fault take effect?** After the apply, the run reads every fault \
         step back from where it acts until it is seen on `minCoverage` of the step's targets, \
         or `within` passes. On by default (`within: 5s`, `minCoverage: 100%`); \
         `verify: {{ within: 10s, minCoverage: 50% }}` changes the bounds (`within` above 0s, \
         `minCoverage` above 0%), `verify: true` is the default and `verify: false` skips the \
         check (the fault is then `unchecked`). Chaos Mesh imports get the default. Coverage \
         is targets seen / targets selected. Seen in time records `faultVerified`; not seen \
         records `faultUnverified` and ends the run `error: fault did not take effect: step S \
         (KIND) seen on A/N target(s) within W, P% needed: EVIDENCE`, every fault recovered. \
         What \"seen\" means, read back rather than remembered: network kinds, the agent's \
         qdisc (netem or tbf) on each interface with the asked parameters, over netlink \
         (its packet counters are evidence, not a condition: a quiet target is still \
         shaped); `networkPartition`, the agent's nft drop rules (their counters as \
         evidence); `stressCpu`, every worker running and the cgroup's CPU time rising by at \
         least half of `workers` x `load` (of the cgroup's own CPU quota when that is less: a \
         container at its CPU limit is as stressed as it gets; on a host with no CPU to \
         spare, at least 5%, the workers' share of a busy machine); `stressMemory`, every worker running and holding \
         80% of `size` resident; `processPause`, every live process stopped (state T), or \
         with `method: freezer` its cgroup frozen; `processKill` and `containerKill`, every \
         process gone (a caught signal counts as delivered); `podKill`, the pod it deleted \
         (by uid) gone or terminating, with its controller's replacement pod named as \
         evidence; `podFailure`, each swapped container's image is the pause image, with \
         what the container still runs as evidence. The report (`faults[].state`, \
         `coverage`, `evidence`; `verifications[]`), the HTML report's Verification \
         section, the JUnit file, the verdict notification and \
         `faultline_fault_verified_total{{kind,result}}` all show it."
    )?;
    writeln!(out)?;
    writeln!(out, "```yaml")?;
    writeln!(out, "steps:")?;
    writeln!(out, "  - podKill: {{}}")?;
    writeln!(out, "    verify: {{ within: 30s, minCoverage: 50% }}")?;
    writeln!(out, "```")?;
    writeln!(out)?;
    writeln!(
        out,
        "| Kind | Carried out by | Aims at | Lasts | Chaos Mesh |"
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    for k in KINDS {
        writeln!(
            out,
            "| [`{0}`](#{1}) | {2} | {3} | {4} | {5} |",
            k.name,
            k.name.to_ascii_lowercase(),
            executor(k.executor),
            targets(k.targets),
            lasts(k),
            k.chaos_mesh.map_or("—".to_string(), chaos_mesh),
        )?;
    }
    for k in KINDS {
        writeln!(out)?;
        write_kind(out, k)?;
    }
    writeln!(out)?;
    writeln!(out, "## Traffic scope")?;
    writeln!(out)?;
    writeln!(
        out,
        "Every network kind takes these fields beside its own; empty lists mean all traffic."
    )?;
    writeln!(out)?;
    write_fields(out, NetworkScope::FIELDS)
}

fn write_kind(out: &mut String, k: &KindDecl) -> std::fmt::Result {
    writeln!(out, "## `{}`", k.name)?;
    writeln!(out)?;
    writeln!(out, "{}", paragraph(k.doc))?;
    writeln!(out)?;
    let cm = k
        .chaos_mesh
        .map_or("none.".to_string(), |c| format!("{}.", chaos_mesh(c)));
    writeln!(
        out,
        "Carried out by the {}; aims at {}; {}. Chaos Mesh: {cm}",
        executor(k.executor),
        targets(k.targets),
        if k.instant {
            "happens once"
        } else {
            "holds for the step's `duration`"
        },
    )?;
    if let Some(file) = super::examples::worked_example(k.name) {
        writeln!(out)?;
        writeln!(out, "Worked example: [`{file}`](../{file}).")?;
    }
    if !k.fields.is_empty() {
        writeln!(out)?;
        write_fields(out, k.fields)?;
    }
    if k.scope.is_some() {
        writeln!(out)?;
        writeln!(out, "Plus the [traffic scope](#traffic-scope) fields.")?;
    }
    Ok(())
}

fn write_fields(out: &mut String, fields: &[FieldDecl]) -> std::fmt::Result {
    writeln!(out, "| Field | Type | Default | Description | Chaos Mesh |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for f in fields {
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            f.name,
            (f.ty)(),
            f.default.map_or("required".to_string(), |d| d()),
            cell(&paragraph(f.doc)),
            f.chaos_mesh.map_or("—".to_string(), |p| format!("`{p}`")),
        )?;
    }
    Ok(())
}

fn executor(e: Executor) -> &'static str {
    match e {
        Executor::Agent => "node agent",
        Executor::KubernetesApi => "service (Kubernetes API)",
    }
}

fn targets(t: Targets) -> &'static str {
    match t {
        Targets::LocalOrPods => "a local target or pods",
        Targets::Pods => "pods",
        Targets::Nodes => "nodes",
        Targets::Zone => "the nodes of a zone",
    }
}

fn lasts(k: &KindDecl) -> &'static str {
    if k.instant { "once" } else { "`duration`" }
}

fn chaos_mesh(c: ChaosMesh) -> String {
    let select = if c.kind == "StressChaos" {
        format!("`stressors.{}`", c.action)
    } else if c.kind == "HTTPChaos" {
        format!("`{}`", c.action)
    } else {
        format!("`action: {}`", c.action)
    };
    match c.when {
        Some(w) => format!("{} {select} with `{w}`", c.kind),
        None => format!("{} {select}", c.kind),
    }
}

/// A doc comment as one line of prose.
fn paragraph(doc: &str) -> String {
    doc.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}
