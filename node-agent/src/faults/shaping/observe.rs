//! Reading a qdisc fault back: on every interface the fault chose (and the IFB carrying
//! its received traffic), our qdisc — the root `fa17:` or, scoped, the child `fa18:` under
//! our htb — of the asked kind with the asked parameters, as the kernel dumps it over
//! netlink. Its packet counters are evidence: they move only while the target sends.

use super::interfaces::{ifb_name, interfaces, netns_of};
use super::root::{HANDLE, Shape};
use super::scoped::{self, CHILD};
use crate::error::FaultError;
use crate::faults::observe::{Baseline, Observation};
use crate::faults::record::FaultRecord;
use crate::netlink::{Netlink, QdiscInfo};
use faultline_spec::{Direction, NetworkScope};

/// What the kernel holds of the fault: per device, its name and our fault qdisc (if any).
pub(crate) struct Reading {
    devices: Vec<(String, Option<QdiscInfo>)>,
}

impl Reading {
    /// Packets sent by our fault qdiscs, summed.
    pub(crate) fn packets(&self) -> u64 {
        self.devices
            .iter()
            .filter_map(|(_, q)| q.as_ref())
            .map(|q| q.packets)
            .sum()
    }
}

/// Reads the fault qdisc off every device the fault applies to.
pub(crate) async fn read(rec: &FaultRecord, scope: &NetworkScope) -> Result<Reading, FaultError> {
    let netns = crate::netns::locate(netns_of(rec)?, rec.resolved.netns_id)?;
    let nl = Netlink::open(&netns)?;
    let all = nl.links().await?;
    let mut devices = Vec::new();
    for link in interfaces(&nl, &all, rec, scope)? {
        if scope.direction != Direction::From {
            devices.push((link.name.clone(), Some(link.index)));
        }
        if scope.direction != Direction::To {
            let name = ifb_name(link.index);
            let ifb = all.iter().find(|l| l.name == name).map(|l| l.index);
            devices.push((name, ifb));
        }
    }
    let want = if scoped::is_scoped(scope) {
        u32::from(CHILD) << 16
    } else {
        u32::from(HANDLE) << 16
    };
    let mut out = Vec::new();
    for (name, index) in devices {
        let q = match index {
            Some(i) => nl
                .qdisc()
                .list(Some(i))
                .await?
                .into_iter()
                .find(|q| q.handle == want),
            None => None,
        };
        out.push((name, q));
    }
    Ok(Reading { devices: out })
}

/// The packets our qdiscs sent so far.
pub(crate) async fn baseline(rec: &FaultRecord, scope: &NetworkScope) -> Baseline {
    Baseline::now(read(rec, scope).await.ok().map(|r| r.packets()))
}

/// Seen when every device holds our qdisc of `shape`'s kind with its parameters.
pub(crate) async fn observe(
    rec: &FaultRecord,
    scope: &NetworkScope,
    shape: &Shape,
    since: &Baseline,
) -> Observation {
    let reading = match read(rec, scope).await {
        Ok(r) => r,
        Err(e) => return Observation::unseen(format!("qdiscs unreadable: {e}")),
    };
    let kind = match shape {
        Shape::Netem(_) => "netem",
        Shape::Tbf(_) => "tbf",
    };
    let check = |dumped: &[u8]| match shape {
        Shape::Netem(n) => n.check_dump(dumped),
        Shape::Tbf(t) => t.check_dump(dumped),
    };
    let mut ok = true;
    let mut parts = Vec::new();
    for (dev, q) in &reading.devices {
        match q {
            None => {
                ok = false;
                parts.push(format!("{dev}: no {kind} qdisc of ours"));
            }
            Some(q) if q.kind != kind => {
                ok = false;
                parts.push(format!("{dev}: our qdisc is {}, not {kind}", q.kind));
            }
            Some(q) => match check(&q.options) {
                Ok(summary) => parts.push(format!(
                    "{dev}: {summary} as asked, {} packets ({} dropped) in total",
                    q.packets, q.drops
                )),
                Err(diff) => {
                    ok = false;
                    parts.push(format!("{dev}: {diff}"));
                }
            },
        }
    }
    let moved = reading.packets().saturating_sub(since.counter.unwrap_or(0));
    let evidence = format!("{}; {moved} packets since apply", parts.join("; "));
    if ok {
        Observation::seen(evidence)
    } else {
        Observation::unseen(evidence)
    }
}
