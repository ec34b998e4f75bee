//! DNSChaos: `error` and `random`, for the names its `patterns` match (every name when
//! empty). Chaos Mesh answers only A and AAAA queries with the chaos, and its `error` is a
//! SERVFAIL; the translation keeps both, as `dnsError` (`answer: servfail`, `queryTypes:
//! [A, AAAA]`) and `dnsSpoof` (`random: true`). Chaos Mesh points the pods at its own
//! CoreDNS; faultline redirects the pods' queries to a proxy in their namespace instead,
//! so nothing of the cluster's DNS is changed.

use super::common::{Translated, action, document_schema, hold_duration, target_and_duration};
use super::fields::actions_of;
use crate::decode::cx::{Cx, Obj, Schema};
use crate::decode::target::SELECTOR;
use crate::experiment::{FaultStep, Step};
use crate::fault::dns::{DnsType, glob_problem};
use crate::fault::{DnsAnswer, DnsError, DnsSpoof, FaultKind};
use crate::units::Duration;

/// DNSChaos `spec`.
pub static SPEC: Schema = Schema::including(
    &[
        ("selector", Some(&SELECTOR)),
        ("mode", None),
        ("value", None),
        ("duration", None),
        ("action", None),
        ("patterns", None),
        ("containerNames", None),
    ],
    &[&super::common::REFUSED],
);
/// The DNSChaos document.
pub static ROOT: Schema = document_schema!(SPEC);

/// The Chaos Mesh kind this file translates.
const KIND: &str = "DNSChaos";

/// Translates a DNSChaos `spec`.
pub fn translate(cx: &mut Cx, o: &Obj<'_>, deadline: Option<Duration>) -> Option<Translated> {
    let (tgt, dur) = target_and_duration(cx, o, deadline);
    let actions = actions_of(KIND);
    let action = action(cx, o, &actions, &actions.join(" or "));
    let patterns = match o.get("patterns") {
        Some(n) => {
            let globs = cx.strings(n, &o.at("patterns"));
            globs.and_then(|g| {
                let mut ok = true;
                for p in g.iter().filter_map(|g| glob_problem(g)) {
                    cx.err(&o.at("patterns"), n.pos, p);
                    ok = false;
                }
                ok.then(|| {
                    g.iter()
                        .map(|g| g.trim_end_matches('.').to_ascii_lowercase())
                        .collect::<Vec<_>>()
                })
            })
        }
        None => Some(Vec::new()),
    };
    if let Some(n) = o.get("containerNames") {
        cx.err_hint(
            &o.at("containerNames"),
            n.pos,
            "`containerNames` is not supported: a pod's containers share its network namespace, and with it the DNS fault",
            "remove `containerNames`; the fault holds for the whole pod",
        );
        return None;
    }
    let (action, mut patterns, dur) = (action?, patterns?, dur?);
    // Without a duration Chaos Mesh keeps the chaos until the object is deleted (its own
    // docs' example has none): held until the run is aborted, as StressChaos is.
    let d = hold_duration(cx, o, dur)?;
    // Chaos Mesh: "if the patterns is empty, will take effect on all the domain names".
    if patterns.is_empty() {
        patterns.push("*".into());
    }
    let query_types = vec![DnsType::A, DnsType::Aaaa];
    let fault = if action == "error" {
        FaultKind::DnsError(DnsError {
            patterns,
            answer: DnsAnswer::Servfail,
            query_types,
            probability: None,
        })
    } else {
        FaultKind::DnsSpoof(DnsSpoof {
            patterns,
            addresses: Vec::new(),
            random: true,
            ttl: None,
            query_types,
            probability: None,
        })
    };
    let step = Step::Fault(FaultStep {
        name: None,
        fault,
        duration: d,
        until_aborted: d.is_none(),
        verify: crate::verify::Verify::on(),
        target: None,
    });
    Some(Translated { step, target: tgt? })
}
