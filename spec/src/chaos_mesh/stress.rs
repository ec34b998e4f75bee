//! StressChaos: `stressors.cpu {workers, load}` and `stressors.memory {workers, size}`;
//! both together become a `parallel` group.

use super::common::{Translated, duration, need_duration, target, unsupported};
use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::fault::MAX_WORKERS;
use crate::decode::target::SELECTOR;
use crate::experiment::{FaultStep, Step};
use crate::fault::{FaultKind, StressCpu, StressMemory};
use crate::units::{Bytes, Duration};

/// `stressors.cpu`.
pub static CPU: Schema = Schema {
    fields: &[("workers", None), ("load", None), ("options", None)],
};
/// `stressors.memory`.
pub static MEMORY: Schema = Schema {
    fields: &[
        ("workers", None),
        ("size", None),
        ("options", None),
        ("oomScoreAdj", None),
    ],
};
/// `stressors`.
pub static STRESSORS: Schema = Schema {
    fields: &[("cpu", Some(&CPU)), ("memory", Some(&MEMORY))],
};
/// StressChaos `spec`.
pub static SPEC: Schema = Schema {
    fields: &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
        ("duration", None),
        ("stressors", Some(&STRESSORS)),
        ("stressngStressors", None),
        ("containerNames", None),
    ],
};
/// The StressChaos document.
pub static ROOT: Schema = Schema {
    fields: &[
        ("apiVersion", None),
        ("kind", None),
        ("metadata", Some(&super::common::METADATA)),
        ("spec", Some(&SPEC)),
        ("status", None),
    ],
};

fn workers(cx: &mut Cx, o: &Obj<'_>) -> Option<u32> {
    match o.get("workers") {
        Some(n) => cx
            .int(n, &o.at("workers"), 1, MAX_WORKERS)
            .map(|w| w as u32),
        None => {
            cx.missing(o, "workers", "a whole number from 1 to 256");
            None
        }
    }
}

fn cpu(cx: &mut Cx, o: &Obj<'_>) -> Option<FaultKind> {
    let ok = unsupported(
        cx,
        o,
        "options",
        "raw stress-ng options; use workers and load",
    );
    let w = workers(cx, o);
    let load = match o.get("load") {
        Some(n) => cx.percent(n, &o.at("load")),
        None => {
            cx.missing(o, "load", "a percentage from 0 to 100");
            None
        }
    };
    ok.then_some(())?;
    Some(FaultKind::StressCpu(StressCpu {
        workers: w?,
        load: load?,
    }))
}

fn memory(cx: &mut Cx, o: &Obj<'_>) -> Option<FaultKind> {
    let ok = unsupported(
        cx,
        o,
        "options",
        "raw stress-ng options; use workers and size",
    ) & unsupported(cx, o, "oomScoreAdj", "faultline leaves the OOM score alone");
    let w = workers(cx, o);
    let size = match o.get("size") {
        Some(n) => cx
            .parsed::<Bytes>(n, &o.at("size"), "a size like `256MB` or `50MiB`")
            .and_then(|b| {
                if b.0 == 0 {
                    cx.err(&o.at("size"), n.pos, "must be more than 0 bytes");
                    None
                } else {
                    Some(b)
                }
            }),
        None => {
            cx.missing(o, "size", "a size like `256MB`");
            None
        }
    };
    ok.then_some(())?;
    Some(FaultKind::StressMemory(StressMemory {
        workers: w?,
        size: size?,
    }))
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
    let tgt = target(cx, o);
    let dur = duration(cx, o, deadline);
    let faults = match o.get("stressors") {
        Some(n) => cx
            .object(n, &o.at("stressors"), &STRESSORS, |cx, s| {
                let c = s
                    .get("cpu")
                    .map(|n| cx.object(n, &s.at("cpu"), &CPU, cpu).flatten());
                let m = s
                    .get("memory")
                    .map(|n| cx.object(n, &s.at("memory"), &MEMORY, memory).flatten());
                if c.is_none() && m.is_none() {
                    cx.err(&s.path, s.pos, "needs `cpu` or `memory` (or both)");
                    return None;
                }
                let faults: Option<Vec<FaultKind>> = [c, m].into_iter().flatten().collect();
                faults
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
    let dur = need_duration(cx, o, dur?, "a StressChaos");
    let (tgt, dur, faults) = (tgt?, dur?, faults?);
    ok.then_some(())?;
    let mut steps: Vec<Step> = faults
        .into_iter()
        .map(|fault| {
            Step::Fault(FaultStep {
                name: None,
                fault,
                duration: Some(dur),
                target: None,
            })
        })
        .collect();
    let step = if steps.len() == 1 {
        steps.remove(0)
    } else {
        Step::Parallel(steps)
    };
    Some(Translated { step, target: tgt })
}
