//! networkDelay / Loss / Duplicate / Corrupt / Reorder: a netem qdisc over netlink in the
//! target's netns (see [`super::shaping`] for interfaces, direction and recovery).
//!
//! `sch_netem` is loaded by the agent when missing; a kernel without it fails the apply
//! with the package to install, before anything is changed.

use super::fault::Fault;
use super::record::{FaultRecord, Recovered};
use super::shaping::{self, Shape};
use crate::error::FaultError;
use crate::netlink;
use faultline_spec::{NetemParams, NetworkScope, NodeFault};

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
        rate_bytes_per_sec: 0,
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
        if matches!(rec.kind, NodeFault::NetworkReorder(_)) && p.latency.std().is_zero() {
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
    }
}
