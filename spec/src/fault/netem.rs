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

impl NetemParams {
    /// True when reordering is asked of packets that are not delayed: the kernel reorders
    /// only delayed packets, so such a netem would not reorder at all.
    pub fn reorders_without_delay(&self) -> bool {
        self.reorder.value() > 0.0 && self.latency == Duration::ZERO
    }
}

impl super::kinds::NetworkNetem {
    /// Its netem options, all of them in one qdisc.
    pub fn params(&self) -> NetemParams {
        NetemParams {
            latency: self.latency,
            jitter: self.jitter,
            delay_correlation: self.delay_correlation,
            loss: self.loss,
            loss_correlation: self.loss_correlation,
            duplicate: self.duplicate,
            duplicate_correlation: self.duplicate_correlation,
            corrupt: self.corrupt,
            corrupt_correlation: self.corrupt_correlation,
            reorder: self.reorder,
            reorder_correlation: self.reorder_correlation,
            gap: self.gap,
            rate: self.rate,
        }
    }
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
                p = n.params();
                &n.scope
            }
            _ => return None,
        };
        Some((p, scope))
    }
}
