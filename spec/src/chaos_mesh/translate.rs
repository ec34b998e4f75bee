//! Which translation a Chaos Mesh document goes to, by its kind.

use super::{common, dns, http, network, pod, schedule, status_check, stress, workflow};
use crate::decode::{Cx, Node};
use crate::experiment::{Experiment, Step};

/// Translates one Chaos Mesh document of `kind` (one of the kinds `load.rs` accepts).
pub fn translate(cx: &mut Cx, root: &Node, kind: &str) -> Option<Experiment> {
    match kind {
        "StressChaos" => common::document(cx, root, kind, &stress::ROOT, &stress::SPEC, |cx, o| {
            stress::translate(cx, o, None).map(|t| (vec![t.step], Some(t.target)))
        }),
        "NetworkChaos" => {
            common::document(cx, root, kind, &network::ROOT, &network::SPEC, |cx, o| {
                network::translate(cx, o, None).map(|t| (vec![t.step], Some(t.target)))
            })
        }
        "PodChaos" => common::document(cx, root, kind, &pod::ROOT, &pod::SPEC, |cx, o| {
            pod::translate(cx, o, None).map(|t| (vec![t.step], Some(t.target)))
        }),
        "DNSChaos" => common::document(cx, root, kind, &dns::ROOT, &dns::SPEC, |cx, o| {
            dns::translate(cx, o, None).map(|t| (vec![t.step], Some(t.target)))
        }),
        "HTTPChaos" => common::document(cx, root, kind, &http::ROOT, &http::SPEC, |cx, o| {
            http::translate(cx, o, None).map(|t| (vec![t.step], Some(t.target)))
        }),
        // Standalone, the check is the experiment's only step, named after the object.
        "StatusCheck" => common::document(
            cx,
            root,
            kind,
            &status_check::ROOT,
            &status_check::SPEC,
            |cx, o| {
                let name = common::object_name(root).unwrap_or_else(|| "status-check".into());
                status_check::spec(cx, o, &name, None).map(|c| (vec![Step::Check(c)], None))
            },
        ),
        "Schedule" => schedule_document(cx, root),
        _ => common::document(cx, root, kind, &workflow::ROOT, &workflow::SPEC, |cx, o| {
            workflow::translate(cx, o).map(|steps| (steps, None))
        }),
    }
}

/// A Schedule: the embedded spec's steps, with `spec.schedule` set.
fn schedule_document(cx: &mut Cx, root: &Node) -> Option<Experiment> {
    let mut when = None;
    let mut exp = common::document(
        cx,
        root,
        "Schedule",
        &schedule::ROOT,
        &schedule::SPEC,
        |cx, o| {
            let s = schedule::translate(cx, o, workflow::embedded)?;
            when = Some(s.schedule);
            Some((s.steps, s.target))
        },
    )?;
    exp.spec.schedule = when;
    Some(exp)
}
