//! Which translation a Chaos Mesh document goes to, by its kind.

use super::common::{self, Translated};
use super::{dns, http, network, pod, schedule, status_check, stress, workflow};
use crate::decode::cx::{Obj, Schema};
use crate::decode::{Cx, Node};
use crate::experiment::{Experiment, Step};
use crate::units::Duration;

/// Reads one chaos kind's `spec` (within a workflow template's `deadline`, if any).
type ChaosReader = fn(&mut Cx, &Obj<'_>, Option<Duration>) -> Option<Translated>;

/// Translates one Chaos Mesh document of `kind` (one of the kinds `load.rs` accepts).
pub fn translate(cx: &mut Cx, root: &Node, kind: &str) -> Option<Experiment> {
    // A single chaos is the experiment's only step, and its selector the experiment's target.
    if let Some((root_schema, spec_schema, read)) = single_chaos(kind) {
        return common::document(cx, root, kind, root_schema, spec_schema, |cx, o| {
            read(cx, o, None).map(|t| (vec![t.step], Some(t.target)))
        });
    }
    match kind {
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

/// The document schema, `spec` schema and reader of a kind that is one chaos; `None` for
/// the others (StatusCheck, Schedule, Workflow).
fn single_chaos(kind: &str) -> Option<(&'static Schema, &'static Schema, ChaosReader)> {
    Some(match kind {
        "StressChaos" => (&stress::ROOT, &stress::SPEC, stress::translate),
        "NetworkChaos" => (&network::ROOT, &network::SPEC, network::translate),
        "PodChaos" => (&pod::ROOT, &pod::SPEC, pod::translate),
        "DNSChaos" => (&dns::ROOT, &dns::SPEC, dns::translate),
        "HTTPChaos" => (&http::ROOT, &http::SPEC, http::translate),
        _ => return None,
    })
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
