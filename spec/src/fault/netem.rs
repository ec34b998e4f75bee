//! The netem options a netem-backed kind sets: the agent builds one netem qdisc from them.

use super::kinds::NodeFault;
use super::scope::NetworkScope;
use crate::units::{BitRate, Duration, Percent};

/// The netem options one qdisc carries; the delay/loss/duplicate/corrupt/reorder kinds
/// each set some of them, `networkNetem` any of them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NetemParams {
    /// Added latency.
    pub latency: Duration,
    /// Latency variation.
    pub jitter: Duration,
    /// Delay correlation.
    pub delay_correlation: Percent,
    /// Loss share.
    pub loss: Percent,
    /// Loss correlation.
    pub loss_correlation: Percent,
    /// Duplicate share.
    pub duplicate: Percent,
    /// Duplicate correlation.
    pub duplicate_correlation: Percent,
    /// Corrupt share.
    pub corrupt: Percent,
    /// Corrupt correlation.
    pub corrupt_correlation: Percent,
    /// Reorder share.
    pub reorder: Percent,
    /// Reorder correlation.
    pub reorder_correlation: Percent,
    /// Reorder gap.
    pub gap: u32,
    /// netem's own rate limit; `None`: none.
    pub rate: Option<BitRate>,
}

impl NodeFault {
    /// The netem options and traffic scope of a netem-backed kind; `None` for the rest.
    pub fn netem(&self) -> Option<(NetemParams, &NetworkScope)> {
        let mut p = NetemParams::default();
        let scope = match self {
            NodeFault::NetworkDelay(d) => {
                p.latency = d.latency;
                p.jitter = d.jitter;
                p.delay_correlation = d.correlation;
                &d.scope
            }
            NodeFault::NetworkLoss(l) => {
                p.loss = l.loss;
                p.loss_correlation = l.correlation;
                &l.scope
            }
            NodeFault::NetworkDuplicate(d) => {
                p.duplicate = d.duplicate;
                p.duplicate_correlation = d.correlation;
                &d.scope
            }
            NodeFault::NetworkCorrupt(c) => {
                p.corrupt = c.corrupt;
                p.corrupt_correlation = c.correlation;
                &c.scope
            }
            NodeFault::NetworkReorder(r) => {
                p.reorder = r.reorder;
                p.reorder_correlation = r.correlation;
                p.gap = r.gap;
                p.latency = r.latency;
                &r.scope
            }
            NodeFault::NetworkNetem(n) => {
                p = NetemParams {
                    latency: n.latency,
                    jitter: n.jitter,
                    delay_correlation: n.delay_correlation,
                    loss: n.loss,
                    loss_correlation: n.loss_correlation,
                    duplicate: n.duplicate,
                    duplicate_correlation: n.duplicate_correlation,
                    corrupt: n.corrupt,
                    corrupt_correlation: n.corrupt_correlation,
                    reorder: n.reorder,
                    reorder_correlation: n.reorder_correlation,
                    gap: n.gap,
                    rate: n.rate,
                };
                &n.scope
            }
            _ => return None,
        };
        Some((p, scope))
    }
}
