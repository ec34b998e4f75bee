//! networkDelay / Loss / Duplicate / Corrupt / Reorder, and networkNetem (any of them plus
//! netem's rate, in one qdisc): a netem qdisc over netlink in the target's netns (see [`super::shaping`] for interfaces, direction and recovery).
//!
//! `sch_netem` is loaded by the agent when missing; a kernel without it fails the apply
//! with the package to install, before anything is changed.

use super::fault::Fault;
use super::observe::{Baseline, Observation};
use super::record::{FaultRecord, Recovered};
use super::shaping::{self, Shape};
use crate::error::FaultError;
use crate::netlink;
use faultline_spec::{NetemParams, NetworkScope};

/// The netem fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Netem;

/// The netem options for a spec's parameters.
pub fn options(p: &NetemParams) -> netlink::Netem {
    let ns = |d: faultline_spec::Duration| u64::try_from(d.std().as_nanos()).unwrap_or(u64::MAX);
    netlink::Netem {
        latency_ns: ns(p.latency),
        jitter_ns: ns(p.jitter),
        delay_corr: p.delay_correlation.fraction(),
        loss: p.loss.fraction(),
        loss_corr: p.loss_correlation.fraction(),
        duplicate: p.duplicate.fraction(),
        duplicate_corr: p.duplicate_correlation.fraction(),
        corrupt: p.corrupt.fraction(),
        corrupt_corr: p.corrupt_correlation.fraction(),
        reorder: p.reorder.fraction(),
        reorder_corr: p.reorder_correlation.fraction(),
        gap: p.gap,
        rate_bytes_per_sec: p.rate.map_or(0, |r| r.bytes_per_sec().max(1)),
        limit: 0,
    }
}

fn params(rec: &FaultRecord) -> Result<(NetemParams, &NetworkScope), FaultError> {
    rec.kind.netem().ok_or_else(|| FaultError::Unsupported {
        kind: rec.kind.name(),
        target: rec.target.to_string(),
        reason: "not a netem fault".into(),
    })
}

impl Fault for Netem {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let (p, scope) = params(rec)?;
        // The agent's API takes JSON the spec's decoder never saw, so this is checked here
        // too: without a delay netem never reorders, and the fault would do nothing.
        if p.reorders_without_delay() {
            return Err(FaultError::Unsupported {
                kind: rec.kind.name(),
                target: rec.target.to_string(),
                reason: "netem reorders only delayed packets: set a latency above 0".into(),
            });
        }
        shaping::apply(rec, scope, Shape::Netem(options(&p))).await
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        let (_, scope) = params(rec)?;
        shaping::recover(rec, scope).await
    }

    /// The packets our qdiscs sent so far.
    async fn baseline(&self, rec: &FaultRecord) -> Baseline {
        match params(rec) {
            Ok((_, scope)) => shaping::baseline(rec, scope).await,
            Err(_) => Baseline::now(None),
        }
    }

    /// Our netem qdisc on every chosen device, with the asked parameters.
    async fn observe(&self, rec: &FaultRecord, since: &Baseline) -> Observation {
        match params(rec) {
            Ok((p, scope)) => shaping::observe(rec, scope, &Shape::Netem(options(&p)), since).await,
            Err(e) => Observation::unseen(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_spec::{Duration, Percent};

    #[test]
    fn spec_percentages_become_fractions() {
        let p = NetemParams {
            latency: Duration::from_millis(10),
            loss: Percent::new(50.0).unwrap(),
            ..NetemParams::default()
        };
        let o = options(&p);
        assert_eq!(o.latency_ns, 10_000_000);
        assert_eq!(o.loss, 0.5);
        assert_eq!(o.jitter_ns, 0);
        assert_eq!(o.rate_bytes_per_sec, 0, "no rate unless one is set");
    }

    #[test]
    fn a_combined_netem_sets_every_effect_and_the_rate_in_one_qdisc() {
        let fault: faultline_spec::NodeFault = serde_json::from_str(
            r#"{"networkNetem":{"latency":"10ms","loss":20,"duplicate":1,"corrupt":2,"rate":"1mbit"}}"#,
        )
        .unwrap();
        let (p, _) = fault.netem().expect("networkNetem is netem-backed");
        let o = options(&p);
        assert_eq!(o.latency_ns, 10_000_000);
        assert_eq!((o.loss, o.duplicate, o.corrupt), (0.2, 0.01, 0.02));
        assert_eq!(o.rate_bytes_per_sec, 125_000);
    }
}
