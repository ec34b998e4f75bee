//! StressChaos: `stressors.cpu {workers, load, options}` and `stressors.memory {workers,
//! size, oomScoreAdj, options}`; both together become a `parallel` group. The raw
//! `options` are read in `stress_options.rs`.

use super::common::{Translated, document_schema, hold_duration, target_and_duration, unsupported};
use super::fields::{Paths, actions_of, kinds_of};
use super::stress_options;
use crate::decode::cx::{Cx, Obj, Schema, join};
use crate::decode::target::SELECTOR;
use crate::experiment::{FaultStep, Step};
use crate::fault::FaultKind;
use crate::units::Duration;

/// The Chaos Mesh kind this file translates.
const KIND: &str = "StressChaos";

/// `stressors.cpu`.
pub static CPU: Schema = Schema::new(&[("workers", None), ("load", None), ("options", None)]);
/// `stressors.memory`.
pub static MEMORY: Schema = Schema::new(&[
    ("workers", None),
    ("size", None),
    ("options", None),
    ("oomScoreAdj", None),
]);
/// `stressors`.
pub static STRESSORS: Schema = Schema::new(&[("cpu", Some(&CPU)), ("memory", Some(&MEMORY))]);
/// StressChaos `spec`.
pub static SPEC: Schema = Schema::including(
    &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
        ("duration", None),
        ("stressors", Some(&STRESSORS)),
        ("stressngStressors", None),
        ("containerNames", None),
    ],
    &[&super::common::REFUSED],
);
/// The StressChaos document.
pub static ROOT: Schema = document_schema!(SPEC);

/// Reads the stressors inside `stressors` (`s`), one fault each; `dur` is the chaos's
/// duration (`None` when it was bad), which `--timeout` options are checked against.
fn stressors(cx: &mut Cx, s: &Obj<'_>, dur: Option<Option<Duration>>) -> Option<Vec<FaultKind>> {
    let mut faults = Vec::new();
    let mut ok = true;
    for kind in kinds_of(KIND) {
        let stressor = kind.chaos_mesh.map_or("", |c| c.action);
        if s.get(stressor).is_none() {
            continue;
        }
        // Chaos Mesh's oomScoreAdj 0 is its default: leave the score alone.
        let paths = Paths::open(cx, s, "stressors", &STRESSORS, kind)
            .zero_is_unset(&["stressors.memory.oomScoreAdj"]);
        let Some(o) = paths.obj(&join("stressors", stressor)) else {
            ok = false; // not a map: said when it was opened
            continue;
        };
        let size_refused = stressor == "memory" && !memory_size_is_bytes(cx, o);
        let before = cx.errors.len();
        let read = kind.read(cx, &paths);
        if size_refused {
            // Said above with Chaos Mesh's reason; the field reader's own word on `size`
            // would repeat it. Its errors on the other fields stay.
            let size = o.at("size");
            let mut i = 0;
            cx.errors.retain(|e| {
                i += 1;
                i <= before || e.path != size
            });
            ok = false;
            continue;
        }
        let Some(mut f) = read else {
            ok = false;
            continue;
        };
        if let Some(n) = o.get("options") {
            let path = o.at("options");
            ok &= match &mut f {
                FaultKind::StressCpu(c) => stress_options::cpu(cx, n, &path, c, dur),
                FaultKind::StressMemory(m) => stress_options::memory(cx, n, &path, m, dur),
                _ => true,
            };
        }
        faults.push(f);
    }
    if faults.is_empty() && ok {
        let names: Vec<_> = actions_of(KIND).iter().map(|s| format!("`{s}`")).collect();
        cx.err(
            &s.path,
            s.pos,
            format!("needs {} (or both)", names.join(" or ")),
        );
        return None;
    }
    ok.then_some(faults)
}

/// Whether `stressors.memory` (`o`) has a `size` faultline can take; says why not if not.
///
/// Chaos Mesh v2.8.3 runs memStress (v0.3.1) for this stressor, `--workers N --size S`:
/// memStress divides `S` among its `N` workers (memStress commit 37c1719, "change size to
/// the size of all workers"), so `size` is the total, as in faultline's `stressMemory`.
/// The API's doc comment ("N bytes consumed per vm worker, default is the total available
/// memory") is left from when stress-ng's `--vm-bytes` ran it. memStress reads `MB` as
/// 1000² and `MiB` as 1024² bytes (go-humanize), as faultline's sizes do.
fn memory_size_is_bytes(cx: &mut Cx, o: &Obj<'_>) -> bool {
    let Some(n) = o.get("size") else {
        cx.err(
            &o.at("size"),
            o.pos,
            "missing required field `size`: Chaos Mesh's memStress then allocates nothing \
             (its default is `0KB`, whatever the API doc says), and faultline refuses a \
             stressor that would do nothing; write the total for all workers, like `256MB`",
        );
        return false;
    };
    match n.scalar() {
        Some(v) if v.raw.trim_end().ends_with('%') => {
            cx.err(
                &o.at("size"),
                n.pos,
                format!(
                    "`{}` is a share of memory, which faultline does not take: its workers \
                     are sized in bytes before they start; write the total for all workers in \
                     bytes, like `256MB` or `1GiB` (memStress splits `size` among `workers`)",
                    v.raw.trim()
                ),
            );
            false
        }
        _ => true,
    }
}

/// Translates a StressChaos `spec` (top level or embedded in a workflow template).
pub fn translate(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Translated> {
    let ok = unsupported(
        cx,
        o,
        "stressngStressors",
        "raw stress-ng command lines; use `stressors`",
    ) & unsupported(
        cx,
        o,
        "containerNames",
        "faultline stresses the whole pod's cgroup",
    );
    let (tgt, dur) = target_and_duration(cx, o, deadline);
    let faults = match o.get("stressors") {
        Some(n) => cx
            .object(n, &o.at("stressors"), &STRESSORS, |cx, s| {
                stressors(cx, s, dur)
            })
            .flatten(),
        None => {
            cx.missing(
                o,
                "stressors",
                "`cpu: {workers, load}` and/or `memory: {workers, size}`",
            );
            None
        }
    };
    let dur = hold_duration(cx, o, dur?);
    let (tgt, dur, faults) = (tgt?, dur?, faults?);
    ok.then_some(())?;
    let mut steps: Vec<Step> = faults
        .into_iter()
        .map(|fault| {
            Step::Fault(FaultStep {
                name: None,
                fault,
                duration: dur,
                until_aborted: dur.is_none(),
                verify: crate::verify::Verify::on(),
                target: None,
            })
        })
        .collect();
    let step = if steps.len() == 1 {
        steps.remove(0)
    } else {
        Step::Parallel(steps.into())
    };
    Some(Translated { step, target: tgt })
}
