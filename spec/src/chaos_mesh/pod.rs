//! PodChaos: `pod-kill`, `pod-failure`, `container-kill`.

use super::common::{
    Translated, action, document_schema, need_duration, pos_of, target_and_duration,
};
use super::fields::actions_of;
use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::target::SELECTOR;
use crate::experiment::{FaultStep, Step};
use crate::fault::{ContainerKill, FaultKind, PodFailure, PodKill};
use crate::units::Duration;

/// PodChaos `spec`.
pub static SPEC: Schema = Schema::including(
    &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
        ("duration", None),
        ("action", None),
        ("containerNames", None),
        ("gracePeriod", None),
    ],
    &[&super::common::REFUSED],
);
/// The PodChaos document.
pub static ROOT: Schema = document_schema!(SPEC);

/// The Chaos Mesh kind this file translates.
const KIND: &str = "PodChaos";

/// Translates a PodChaos `spec`. Its fields are read here rather than through the kinds'
/// readers: `gracePeriod` is whole seconds in Chaos Mesh, and which fields apply depends on
/// the action.
///
/// A kill happens once, so its `duration` has no meaning in faultline; Chaos Mesh also
/// ignores it for a single kill, so it is accepted and dropped rather than refused.
pub fn translate(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Translated> {
    let (tgt, dur) = target_and_duration(cx, o, deadline);
    let actions = actions_of(KIND);
    let (last, rest) = actions.split_last().unwrap_or((&"", &[]));
    let action = action(cx, o, &actions, &format!("{} or {last}", rest.join(", ")));
    let names = match o.get("containerNames") {
        Some(n) => cx.strings(n, &o.at("containerNames")),
        None => Some(Vec::new()),
    };
    let grace = match o.get("gracePeriod") {
        Some(n) => cx
            .int(n, &o.at("gracePeriod"), 0, 31_536_000)
            .map(|s| Some(Duration::from_secs(s as u64))),
        None => Some(None),
    };
    let (action, names, grace, dur) = (action?, names?, grace?, dur?);
    if action != "pod-kill" && grace.is_some() {
        cx.err(
            &o.at("gracePeriod"),
            pos_of(o, "gracePeriod"),
            "applies to `pod-kill` only",
        );
        return None;
    }
    let (fault, duration) = match action {
        "pod-kill" => {
            if !names.is_empty() {
                cx.err_hint(
                    &o.at("containerNames"),
                    pos_of(o, "containerNames"),
                    "`pod-kill` kills whole pods",
                    "use action `container-kill` to kill containers",
                );
                return None;
            }
            (
                FaultKind::PodKill(PodKill {
                    grace_period: grace,
                }),
                None,
            )
        }
        "pod-failure" => {
            let d = need_duration(cx, o, dur, "a pod-failure")?;
            (
                FaultKind::PodFailure(PodFailure {
                    container_names: names,
                }),
                Some(d),
            )
        }
        _ => {
            if names.is_empty() {
                cx.err(
                    &o.at("containerNames"),
                    pos_of(o, "containerNames"),
                    "`container-kill` needs a non-empty `containerNames` list",
                );
                return None;
            }
            (
                FaultKind::ContainerKill(ContainerKill {
                    container_names: names,
                }),
                None,
            )
        }
    };
    let step = Step::Fault(FaultStep {
        name: None,
        fault,
        duration,
        until_aborted: false,
        verify: crate::verify::Verify::on(),
        target: None,
    });
    Some(Translated { step, target: tgt? })
}
