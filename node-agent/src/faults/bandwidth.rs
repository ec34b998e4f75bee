//! networkBandwidth: a tbf qdisc over netlink in the target's netns (see
//! [`super::shaping`] for interfaces, direction and recovery).

use super::shaping::{self, Shape};
use super::{Fault, FaultRecord, Recovered};
use crate::error::FaultError;
use crate::netlink::Tbf;
use faultline_spec::NodeFault;
use faultline_spec::fault::NetworkBandwidth;

/// The bandwidth fault family.
#[derive(Debug, Default, Clone, Copy)]
pub struct Bandwidth;

fn spec(rec: &FaultRecord) -> Result<&NetworkBandwidth, FaultError> {
    match &rec.kind {
        NodeFault::NetworkBandwidth(b) => Ok(b),
        other => Err(FaultError::Unsupported {
            kind: other.name(),
            target: rec.target.to_string(),
            reason: "not a bandwidth fault".into(),
        }),
    }
}

/// The tbf options for a spec, or why the kernel cannot take them (tbf's burst and limit
/// are 32-bit byte counts).
pub fn options(b: &NetworkBandwidth) -> Result<Tbf, String> {
    let burst = u32::try_from(b.buffer.0)
        .map_err(|_| format!("buffer {} is above tbf's 4 GiB", b.buffer))?;
    let limit =
        u32::try_from(b.limit.0).map_err(|_| format!("limit {} is above tbf's 4 GiB", b.limit))?;
    if burst == 0 || limit == 0 {
        return Err("buffer and limit must be above 0".into());
    }
    Ok(Tbf {
        rate: b.rate.bytes_per_sec().max(1),
        burst,
        limit,
    })
}

impl Fault for Bandwidth {
    async fn apply(&self, rec: &FaultRecord) -> Result<(), FaultError> {
        let b = spec(rec)?;
        let tbf = options(b).map_err(|reason| FaultError::Unsupported {
            kind: rec.kind.name(),
            target: rec.target.to_string(),
            reason,
        })?;
        shaping::apply(rec, &b.scope, Shape::Tbf(tbf)).await
    }

    async fn recover(&self, rec: &FaultRecord) -> Result<Recovered, FaultError> {
        shaping::recover(rec, &spec(rec)?.scope).await
    }
}
